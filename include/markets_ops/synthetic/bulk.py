"""Seeding a fresh stretch of history in bulk: the demo's history, the benchmarks' world.

The loader (seed.seed_day) lands each day as the feed would land its files: CSV into a work
table, the checks, then a COPY into ops.*. For a history the generator made clean, the checks
find nothing, and most of the time goes elsewhere: rendering CSV, and the foreign keys' per-row
triggers (a COPY of 1,000,000 trades into ops.trades: 17-23k rows/s with its three foreign
keys, 74k without them). In bulk:

- a second process generates day N+1 while day N is written (both cores busy);
- each day's Arrow tables go into their tables with binary COPY (ADBC), no CSV, no work table;
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
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from include.markets_ops.feed import sources
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.synthetic.config import GeneratorConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from include.markets_ops.synthetic.daily import DayData

# Days generated ahead of the one being written: one keeps both cores busy; more would only
# hold more days in memory.
DAYS_AHEAD = 1
# A generated day takes seconds; a generator silent this long has died or hung.
GENERATOR_TIMEOUT_SECONDS = 600
POLL_SECONDS = 1.0
# ADBC encodes a batch, then sends it: a day's table as one batch of a million rows would keep
# the database idle while the whole of it is encoded. Smaller batches overlap the two.
INGEST_BATCH_ROWS = 65_536
TRUTH_TABLES = (
    ("synthetic", "trade_fail_probability"),
    ("synthetic", "injected_breaks"),
)
# Derived from the day's outcomes, which the loader aggregates with SQL; the generator counts
# them as it makes the outcomes (a join of a stretch's 30 M outcomes to their trades took 91 s).
DERIVED_TABLES = (("ops", "counterparty_settlement_days"),)
_FINISHED = "finished"


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
        for day in generated_days(config, dates):
            started = time.monotonic()
            counts = write_day(connection, day, None if new_world else dates[0], daily_sources)
            on_day(day.business_date, counts, time.monotonic() - started)
        if new_world:
            _execute(connection, read_sql("seed/restore_indexes.sql"))
        _execute(connection, read_sql("seed/restore_foreign_keys.sql"))
        _execute(connection, read_sql("seed/analyze_seeded_tables.sql"))
        connection.commit()
    return True


def write_day(
    connection: Any,
    day: DayData,
    first_date: dt.date | None,
    daily_sources: tuple[sources.Source, ...] = sources.DAILY_SOURCES,
) -> dict[str, int]:
    """One generated day into ops.* (the files of ``daily_sources``) and its truth into
    synthetic.*, in the caller's transaction (its trades with the status the stretch leaves them
    in; the date's earlier truth and quarantined rows already deleted). ``first_date``: the
    stretch's, when trades booked before it exist (their status follows the day's settlement
    events), else None."""
    counts = {}
    for source in daily_sources:
        schema, table = source.target_table.split(".")
        counts[source.name] = _ingest(connection, schema, table, typed_for(source, getattr(day, source.name)))
    if first_date is not None:
        _execute(connection, read_sql("seed/refresh_earlier_status.sql"), (day.business_date, first_date))
    for schema, table in TRUTH_TABLES + DERIVED_TABLES:
        _ingest(connection, schema, table, getattr(day, table))
    counts["trade_fail_probability"] = day.trade_fail_probability.num_rows
    counts["injected_breaks"] = day.injected_breaks.num_rows
    counts["injected_bad_rows"] = 0
    return counts


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


def generated_days(config: GeneratorConfig, dates: list[dt.date]) -> Iterator[DayData]:
    """The days of ``dates``, each built in a second process while the previous one is used."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections
    days: Any = context.Queue(maxsize=DAYS_AHEAD)
    generator = context.Process(
        target=_generate, args=(config, dates, days), name="seed-generator", daemon=True
    )
    generator.start()
    try:
        while True:
            kind, value = _next_message(days, generator)
            if kind == _FINISHED:
                return
            if kind == "error":
                raise RuntimeError(f"the seed's generator process failed:\n{value}")
            yield value
    finally:
        generator.terminate()
        generator.join(timeout=10)


def _next_message(days: Any, generator: Any) -> tuple[str, Any]:
    """The generator's next message; an error if it died or went silent."""
    deadline = time.monotonic() + GENERATOR_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            return days.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not generator.is_alive():
                raise RuntimeError(
                    f"the seed's generator process exited (code {generator.exitcode}) before its last day"
                ) from None
    raise RuntimeError(f"the seed's generator process sent no day for {GENERATOR_TIMEOUT_SECONDS} s")


def _generate(config: GeneratorConfig, dates: list[dt.date], days: Any) -> None:
    """In the generator process: build each day in order (the bookings cache carries over)."""
    import dataclasses

    from include.markets_ops.synthetic import daily, timeline
    from include.markets_ops.synthetic.bookings import BookingsCache

    try:
        cache = BookingsCache(config)
        reported_days = np.array([timeline.operations_index(date) for date in dates])
        for business_date in dates:
            day = daily.build_day(config, business_date, cache)
            status = daily.status_once_reported(cache.get(business_date), reported_days)
            trades = day.trades.set_column(day.trades.schema.get_field_index("status"), "status", status)
            days.put(("day", dataclasses.replace(day, trades=trades)))
        days.put((_FINISHED, None))
    except Exception:  # noqa: BLE001 - any failure is sent to the parent, which raises it with this traceback
        days.put(("error", traceback.format_exc()))


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
