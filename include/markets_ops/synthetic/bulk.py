"""Seeding a fresh stretch of history in bulk: the demo's history, the benchmarks' world.

The loader (seed.seed_day) lands each day as the feed would land its files: CSV into a work
table, the checks, then a COPY into ops.*. For a history the generator made clean, the checks
find nothing, and most of the time goes elsewhere: rendering CSV, and the foreign keys' per-row
triggers (a COPY of 1,000,000 trades into ops.trades: 17-23k rows/s with its three foreign
keys, 74k without them). In bulk:

- a second process generates the rows while they are written (both cores busy), and sends
  them in pieces of at most a booking block's rows of one table, as it makes them block by
  block (daily.stream_day), its cache of the window's bookings kept in files: neither process
  ever holds a whole day, so their memory stays flat as the volume grows;
- each piece goes into its table with binary COPY (ADBC), typed by the generator: no CSV, no
  work table;
- the foreign keys among the seeded tables are dropped for the stretch and added back at its
  end, each checked once by one query over the table instead of a lookup per row; in a new
  world (no day loaded before the stretch), so are the tables' indexes, primary keys included,
  each built once at the end instead of updated row by row (a duplicate key fails the seed
  there);
- a trade booked in the stretch is written with the status the stretch's settlement events
  leave it in (daily.status_once_reported), instead of being updated by each day's events: an
  update of a million trades a day rewrote each row and its four index entries (21 s a day);
  only a trade booked before the stretch is updated by them, as the loader would;
- the counterparties' settlement record per date (ops.counterparty_settlement_days, which the
  loader aggregates from each date's outcomes) comes counted by the generator with the day;
- the seeded tables are analyzed before the transaction commits, so the first queries on
  them are planned with statistics.

All in one transaction as the warehouse's owner (dropping a constraint or an index is the
owner's): a failure leaves the warehouse as it was, constraints and indexes included. Only a
stretch after every date already loaded is seeded in bulk; seed.seed_history sends any other
through the loader, which replaces a date's rows, so that reseeding stays idempotent. The
same rows either way (tests/integration/test_bulk_seed.py).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from include.markets_ops.feed import sources
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.synthetic.config import GeneratorConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from include.markets_ops.synthetic.bookings import Bookings

# A table's rows are sent to the writer in pieces of at most this many (or one booking block's
# rows, when more): a booking block's worth, so that a piece is the same size at any volume
# (with twice as many, the processes' peaks grew by a quarter from 250k to 1M trades a day, the
# last pieces of a day being smaller at 250k); a COPY's overhead is small beside them.
PIECE_ROWS = 131_072
# Pieces made ahead of the one being written: enough to keep both cores busy; more would only
# hold more rows in memory.
PIECES_AHEAD = 4
# A generated day takes seconds; a generator silent this long has died or hung.
GENERATOR_TIMEOUT_SECONDS = 600
POLL_SECONDS = 1.0
# ADBC encodes a batch, then sends it: a day's table as one batch of a million rows would keep
# the database idle while the whole of it is encoded. Smaller batches overlap the two.
INGEST_BATCH_ROWS = 65_536
# The tables by DayData's names of them.
TRUTH_TABLES = {
    "trade_fail_probability": "synthetic.trade_fail_probability",
    "injected_breaks": "synthetic.injected_breaks",
}
# Derived from the day's outcomes, which the loader aggregates with SQL; the generator counts
# them as it makes the outcomes (a join of a stretch's 30 M outcomes to their trades took 91 s).
# A day's last piece: once it is written, the day is whole.
DERIVED_TABLE = "counterparty_settlement_days"
DERIVED_TABLES = {DERIVED_TABLE: "ops.counterparty_settlement_days"}
_FINISHED = "finished"


@dataclass(frozen=True)
class Piece:
    """Rows of one seeded table (``table``: its name, as DayData's) made for ``business_date``,
    typed for the table; ``ends_day``: the day's last piece."""

    business_date: dt.date
    table: str
    rows: pa.Table
    ends_day: bool = False


def is_fresh(owner_url: str, first_date: dt.date) -> bool:
    """Whether no daily row is loaded on or after ``first_date`` (a bulk seed may append)."""
    with connect(owner_url) as connection:
        ((loaded,),) = _fetch_all(connection, read_sql("seed/loaded_on_or_after.sql"), (first_date,))
        connection.rollback()
    return not loaded


def seed_days(
    owner_url: str,
    config: GeneratorConfig,
    dates: list[dt.date],
    on_day: Callable[[dt.date, dict[str, int], float], None],
    daily_sources: tuple[sources.Source, ...] = sources.DAILY_SOURCES,
) -> bool:
    """Seed ``dates`` (business dates after every loaded one, in order) in one transaction;
    False, with nothing written, when a row on or after the first date is loaded by then.

    ``on_day`` is called after each day is written (its date, row counts and seconds); the
    rows become visible only when every day is written and the foreign keys hold."""
    with connect(owner_url) as connection:
        _execute(connection, read_sql("seed/begin_bulk_seed.sql"))
        # Checked again under the feed's lock: a load may have landed since is_fresh.
        ((loaded,),) = _fetch_all(connection, read_sql("seed/loaded_on_or_after.sql"), (dates[0],))
        if loaded:
            connection.rollback()
            return False
        _clear_truth_and_quarantine(connection, dates)
        _execute(connection, read_sql("seed/remember_foreign_keys.sql"))
        _execute(connection, read_sql("seed/drop_foreign_keys.sql"))
        ((earlier_trades,),) = _fetch_all(connection, read_sql("seed/trades_booked_before.sql"), (dates[0],))
        new_world = not earlier_trades
        if new_world:
            _execute(connection, read_sql("seed/remember_indexes.sql"))
            _execute(connection, read_sql("seed/drop_indexes.sql"))
        earlier_than = None if new_world else dates[0]
        _write_days(
            connection, config, dates, earlier_than=earlier_than, on_day=on_day, daily_sources=daily_sources
        )
        if new_world:
            _execute(connection, read_sql("seed/restore_indexes.sql"))
        _execute(connection, read_sql("seed/restore_foreign_keys.sql"))
        _execute(connection, read_sql("seed/analyze_seeded_tables.sql"))
        connection.commit()
    return True


def _write_days(
    connection: Any,
    config: GeneratorConfig,
    dates: list[dt.date],
    *,
    earlier_than: dt.date | None,
    on_day: Callable[[dt.date, dict[str, int], float], None],
    daily_sources: tuple[sources.Source, ...],
) -> None:
    """The generator's pieces of ``dates`` written as they come; ``earlier_than``: the stretch's
    first date when trades booked before it exist (their status follows each day's events)."""
    targets = seeded_tables(daily_sources)
    counts: Counter[str] = Counter()
    day_started = time.monotonic()
    for piece in generated_pieces(config, dates, tuple(targets)):
        counts[piece.table] += write_piece(connection, piece, targets)
        if piece.ends_day:
            if earlier_than is not None:
                status_statement = read_sql("seed/refresh_earlier_status.sql")
                _execute(connection, status_statement, (piece.business_date, earlier_than))
            on_day(piece.business_date, _day_counts(counts, daily_sources), time.monotonic() - day_started)
            counts, day_started = Counter(), time.monotonic()


def seeded_tables(daily_sources: tuple[sources.Source, ...] = sources.DAILY_SOURCES) -> dict[str, str]:
    """The tables a day is written to, by DayData's names of them: the daily files asked for,
    the truth, and the counterparties' record (last: it ends the day)."""
    return {source.name: source.target_table for source in daily_sources} | TRUTH_TABLES | DERIVED_TABLES


def write_piece(connection: Any, piece: Piece, targets: dict[str, str]) -> int:
    """``piece``'s rows appended to their table, in the caller's transaction."""
    schema, table = targets[piece.table].split(".")
    return _ingest(connection, schema, table, piece.rows)


def _day_counts(written: Counter[str], daily_sources: tuple[sources.Source, ...]) -> dict[str, int]:
    """A day's rows per daily file and truth table, as the loader's seed reports them."""
    names = [source.name for source in daily_sources] + list(TRUTH_TABLES)
    return {name: written[name] for name in names} | {"injected_bad_rows": 0}


def _clear_truth_and_quarantine(connection: Any, dates: list[dt.date]) -> None:
    """The stretch's dates' truth and quarantined rows deleted, as the loader's seed replaces
    them (the simulator may have written a date's truth before its files were loaded). Done
    before the indexes are dropped: with them, each date's delete reads only its rows; after,
    each day's would scan everything seeded before it."""
    for date in dates:
        _execute(connection, read_sql("synthetic/delete_day_truth.sql"), (date,))
        _execute(connection, read_sql("seed/delete_quarantine.sql"), (date,))


def typed_for(source: sources.Source, table: pa.Table) -> pa.Table:
    """The file's columns in the types of the source's table (the files carry decimals as text;
    binary COPY needs them as numbers)."""
    import pyarrow as pa

    schema = pa.schema([(name, _arrow_type(sql_type)) for name, sql_type in source.column_types.items()])
    return table.select(list(source.columns)).cast(schema)


def _arrow_type(sql_type: str) -> pa.DataType:
    import pyarrow as pa

    if sql_type.startswith("numeric("):
        precision, scale = sql_type.removeprefix("numeric(").removesuffix(")").split(",")
        return pa.decimal128(int(precision), int(scale))
    fixed = {"date": pa.date32(), "timestamptz": pa.timestamp("us", tz="UTC"), "smallint": pa.int16()}
    return fixed.get(sql_type, pa.string())  # text and varchar(n)


# --------------------------------------------------------------------------- the generator


def generated_pieces(
    config: GeneratorConfig, dates: list[dt.date], tables: tuple[str, ...]
) -> Iterator[Piece]:
    """The rows of ``tables`` (seeded_tables' names) for ``dates``, made in a second process
    while the previous pieces are written; each day's last piece ends it. The generator keeps
    the window's bookings in a scratch folder, removed here once it has stopped."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections
    pieces: Any = context.Queue(maxsize=PIECES_AHEAD)
    with tempfile.TemporaryDirectory(prefix="seed-window-") as window:
        generator = context.Process(
            target=_generate,
            args=(config, dates, tables, pieces, Path(window)),
            name="seed-generator",
            daemon=True,
        )
        yield from _received(pieces, generator)


def _received(pieces: Any, generator: Any) -> Iterator[Piece]:
    """The generator's pieces until its last; it is stopped however the iteration ends."""
    generator.start()
    try:
        while True:
            kind, value = _next_message(pieces, generator)
            if kind == _FINISHED:
                return
            if kind == "error":
                raise RuntimeError(f"the seed's generator process failed:\n{value}")
            yield value
    finally:
        generator.terminate()
        generator.join(timeout=10)


def _next_message(pieces: Any, generator: Any) -> tuple[str, Any]:
    """The generator's next message; an error if it died or went silent."""
    deadline = time.monotonic() + GENERATOR_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            return pieces.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not generator.is_alive():
                raise RuntimeError(
                    f"the seed's generator process exited (code {generator.exitcode}) before its last day"
                ) from None
    raise RuntimeError(f"the seed's generator process sent no rows for {GENERATOR_TIMEOUT_SECONDS} s")


def _generate(
    config: GeneratorConfig, dates: list[dt.date], tables: tuple[str, ...], out: Any, window: Path
) -> None:
    """In the generator process: each day in order, block by block (the bookings cache carries
    over, its blocks in the folder ``window``), its rows sent in pieces; its trades with the
    status the stretch leaves them in."""
    from include.markets_ops.synthetic import daily, timeline
    from include.markets_ops.synthetic.bookings import BookingsCache

    try:
        cache = BookingsCache(config, spill_to=window)
        reported_days = np.array([timeline.operations_index(date) for date in dates])

        def trades_once_reported(bookings: Bookings) -> pa.Table:
            trades = daily.trades_table(bookings)
            status = daily.status_once_reported(bookings, reported_days)
            return trades.set_column(trades.schema.get_field_index("status"), "status", status)

        for business_date in dates:
            sink = _PieceSink(business_date, tables, out)
            counterparty_days = daily.stream_day(config, business_date, sink, cache, trades_once_reported)
            sink.close(counterparty_days)
        out.put((_FINISHED, None))
    except Exception:  # noqa: BLE001 - any failure is sent to the parent, which raises it with this traceback
        out.put(("error", traceback.format_exc()))


class _PieceSink:
    """daily.stream_day's sink in the generator: each table's rows gathered up to PIECE_ROWS
    (or one block's rows, when more), then typed and sent; tables not seeded are dropped."""

    def __init__(self, business_date: dt.date, tables: tuple[str, ...], out: Any) -> None:
        self.business_date, self.tables, self.out = business_date, tables, out
        self.gathered: defaultdict[str, list[pa.Table]] = defaultdict(list)
        self.gathered_rows: Counter[str] = Counter()

    def write(self, name: str, rows: pa.Table) -> None:
        if name not in self.tables:
            return
        if self.gathered[name] and self.gathered_rows[name] + rows.num_rows > PIECE_ROWS:
            self._send(name)
        self.gathered[name].append(rows)
        self.gathered_rows[name] += rows.num_rows

    def close(self, counterparty_days: pa.Table) -> None:
        """The rest of each table, then the counterparties' record, which ends the day."""
        for name in list(self.gathered):
            self._send(name)
        self.out.put(("piece", Piece(self.business_date, DERIVED_TABLE, counterparty_days, ends_day=True)))

    def _send(self, name: str) -> None:
        import pyarrow as pa

        rows = pa.concat_tables(self.gathered.pop(name))
        self.gathered_rows[name] = 0
        source = sources.SOURCES.get(name)
        typed = typed_for(source, rows) if source else rows  # the truth is made in its types
        self.out.put(("piece", Piece(self.business_date, name, typed)))


# --------------------------------------------------------------------------- ADBC


@contextmanager
def connect(database_url: str) -> Iterator[Any]:
    import adbc_driver_postgresql.dbapi as adbc
    from settlement_model import timeouts

    connection = adbc.connect(timeouts.with_postgres_timeouts(database_url), autocommit=False)
    try:
        yield connection
    finally:
        connection.close()


def _execute(connection: Any, statement: str, parameters: tuple[Any, ...] = ()) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute(statement, parameters=parameters or None)
    finally:
        cursor.close()


def _fetch_all(connection: Any, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    try:
        cursor.execute(statement, parameters=parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _ingest(connection: Any, schema: str, table: str, rows: pa.Table) -> int:
    """Append ``rows`` with binary COPY (ADBC names the table's columns after the Arrow schema's)."""
    cursor = connection.cursor()
    try:
        batches = rows.to_reader(max_chunksize=INGEST_BATCH_ROWS)
        cursor.adbc_ingest(table, batches, mode="append", db_schema_name=schema)
    finally:
        cursor.close()
    return int(rows.num_rows)
