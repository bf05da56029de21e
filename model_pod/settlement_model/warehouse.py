"""Bulk reads and writes against the warehouse, through Arrow (ADBC's PostgreSQL driver).

Reads stream: ADBC runs a query without bind parameters as ``COPY (query) TO STDOUT
(FORMAT binary)`` and hands back Arrow record batches of bounded size, so memory does not
grow with the result. With bind parameters it would materialise the whole result instead,
so the values go in first as session settings (``set_config`` with a bind parameter) and
the query reads them with ``current_setting``: values are still never formatted into SQL.

Writes use ADBC bulk ingestion, which is ``COPY ... FROM STDIN (FORMAT binary)``: into a
staging work table, or into the date's next partition of ml.trade_scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from settlement_model import timeouts
from settlement_model.features import SQL_PARAMETERS, read_sql

if TYPE_CHECKING:
    import pyarrow as pa

# ~6 MB Arrow batches (~35,000 pending trades): the threads' pipeline fills and drains in a
# batch (the first is scored, the last written, while the others wait), so smaller batches
# start and finish sooner (16 MB ones cost ~0.5 s more per 1,000,000 trades); per-batch
# overheads stay small. Memory stays flat whatever the volume.
BATCH_BYTES = 6 << 20
STATEMENT_TIMEOUT = timeouts.POSTGRES_STATEMENT_TIMEOUT
# Sorts and hashes of the job's queries (e.g. the counterparties' history): a batch job's
# one session may use more than the default 4 MB.
WORK_MEM = "256MB"
# A reader session that takes rows in the order of an index instead of sorting them. The
# planner under-estimates the pending trades a hundredfold (the shard filter's hash is an
# expression it cannot estimate, 0.5% by default), so a sort looks cheap to it; it is not:
# every row is sorted (and spilled) before the first one is sent. With sorting priced out it
# reads ix_trades_business_date_trade_id in the query's ORDER BY and streams as it scans.
READ_IN_INDEX_ORDER = (("enable_sort", "off"), ("enable_incremental_sort", "off"))
# A training window's session. Its query's bounds are session settings read once (InitPlans),
# which the planner cannot see: it estimated a single pending trade and joined the labels to
# it in a nested loop, comparing every trade with every label (a test world's build went from
# seconds to minutes). With nested loops priced out the join is hashed; the lateral listing
# each trade's as-of dates stays the nested loop it has to be, and JIT, which the pricing
# would switch on, stays off.
JOIN_WINDOWS_BY_HASH = (("enable_nestloop", "off"), ("jit", "off"))
APPLICATION_NAME = "settlement-model"
STAGING_SCHEMA = "staging"
SCORES_SCHEMA = "ml"
_STAGING_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# The only ml tables a job writes: a date's next partitions (contract.next_partition_name).
_NEXT_PARTITION = re.compile(r"^(trade|shadow)_scores_p[0-9]{8}_next$")
INGEST_SCHEMAS = (STAGING_SCHEMA, SCORES_SCHEMA)


class Connection:
    """A session of ADBC's PostgreSQL driver, through the driver manager's own API (database,
    connection, statement), not its DB-API module: that one imports pyarrow.dataset, which
    imports pandas: 0.3 s of every job's start, before its first query could be sent.

    What the DB-API module added and this does not: a failed read raises pyarrow's error (its
    message is the server's: the SQLSTATE's text, e.g. the statement timeout), not the driver
    manager's; and Ctrl-C waits for the statement running (a job stops on SIGTERM at once:
    cli._stop_on_sigterm). Closing the session closes what it still has open first, readers
    before their statements, as the DB-API's cursors were: an error that left a read half done
    then reaches the caller as it is.
    """

    def __init__(self, database_url: str, *, autocommit: bool) -> None:
        import adbc_driver_manager
        import adbc_driver_postgresql

        # Statements and readers not closed yet, by identity, in opening order.
        self._open: dict[int, Any] = {}
        self._database = adbc_driver_postgresql.connect(database_url)
        try:
            self._connection = adbc_driver_manager.AdbcConnection(self._database)
            if not autocommit:
                self._connection.set_autocommit(False)
        except BaseException:
            self._database.close()
            raise

    def commit(self) -> None:
        """Commit the session's transaction (a new one begins: autocommit is off)."""
        self._connection.commit()

    def rollback(self) -> None:
        """Roll the session's transaction back."""
        self._connection.rollback()

    def close(self) -> None:
        """Close what is still open (the latest first), then the connection and the database.
        Each close is tried even if one before it failed; the last failure is raised, the ones
        before it (and an error already in flight, when a block's exit closes the session) in
        its ``__context__`` chain."""
        leftovers = [resource.close for resource in reversed(self._open.values())]
        self._open.clear()
        _close_each([*leftovers, self._connection.close, self._database.close])

    @contextmanager
    def statement(self, sql: str | None = None, options: dict[str, str] | None = None) -> Iterator[Any]:
        """A statement (of ``sql``, its options set), closed when the block ends."""
        import adbc_driver_manager

        statement = adbc_driver_manager.AdbcStatement(self._connection)
        with self._closed_at_the_end(statement):
            if options:
                statement.set_options(**options)
            if sql is not None:
                statement.set_sql_query(sql)
            yield statement

    @contextmanager
    def reading(
        self, sql: str, parameters: tuple[Any, ...] = (), options: dict[str, str] | None = None
    ) -> Iterator[pa.RecordBatchReader]:
        """The result of ``sql`` as an Arrow reader, streamed (a query without bind parameters
        is read with COPY, a batch at a time); closed when the block ends."""
        import pyarrow as pa

        with self.statement(sql, options) as statement:
            if parameters:
                statement.prepare()  # as the DB-API module does before it binds
                statement.bind(_parameter_row(parameters))
            handle, _ = statement.execute_query()
            try:
                reader = pa.RecordBatchReader.from_stream(handle)
            except BaseException:
                handle.release()
                raise
            with self._closed_at_the_end(reader):
                yield reader

    def update(self, sql: str) -> int:
        """Run ``sql``; the rows it changed."""
        with self.statement(sql) as statement:
            return int(statement.execute_update())

    @contextmanager
    def _closed_at_the_end(self, resource: Any) -> Iterator[None]:
        """``resource`` closed when the block ends, or by ``close`` if the block is never left
        (a generator reading it, abandoned by an error)."""
        self._open[id(resource)] = resource
        try:
            yield
        finally:
            if self._open.pop(id(resource), None) is not None:  # not closed by ``close`` already
                resource.close()


def _close_each(closes: list[Callable[[], object]]) -> None:
    """Call every one of ``closes``, in order, even after one fails. Nested ``finally`` blocks,
    not an ExitStack: its exit rewrites ``__context__`` and loses all but the last failure, and
    the error in flight (python/cpython#102201)."""
    if closes:
        try:
            closes[0]()
        finally:
            _close_each(closes[1:])


def _parameter_row(parameters: tuple[Any, ...]) -> pa.RecordBatch:
    """Bind parameters $1, $2, ... as the one Arrow row ADBC binds. A string is laid out in
    Arrow's buffers directly: pyarrow's conversion of any Python value imports pandas first
    (0.3 s), and every session's settings are strings, bound before a job's first query."""
    import pyarrow as pa

    columns = [_string_array(value) if isinstance(value, str) else pa.array([value]) for value in parameters]
    return pa.RecordBatch.from_arrays(columns, names=[str(number) for number in range(len(columns))])


def _string_array(value: str) -> pa.Array:
    """A one-value Arrow string array: offsets 0 and the UTF-8 length, then the bytes."""
    import struct

    import pyarrow as pa

    data = value.encode()
    offsets = struct.pack("<ii", 0, len(data))
    return pa.StringArray.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(data))


@contextmanager
def connect(database_url: str, *, autocommit: bool = False) -> Iterator[Connection]:
    # A server that does not answer fails the connection in timeouts.POSTGRES_CONNECT_TIMEOUT_SECONDS;
    # one whose host goes away later, within about a minute (TCP keepalives, tcp_user_timeout).
    conn = Connection(timeouts.with_postgres_timeouts(database_url), autocommit=autocommit)
    try:
        _set_session(
            conn,
            [
                ("application_name", APPLICATION_NAME),
                ("statement_timeout", STATEMENT_TIMEOUT),
                ("work_mem", WORK_MEM),
                # No parallel workers: a shard's own threads and the database's work for it
                # already keep the cores busy; workers would split the same scans over more
                # processes competing for them, for more CPU in all (1.3 s more per 1,000,000
                # pending trades, measured).
                ("max_parallel_workers_per_gather", "0"),
            ],
        )
        if not autocommit:
            conn.commit()  # keep the settings: they are session-level, set outside the work
        yield conn
    finally:
        conn.close()


def _set_session(conn: Connection, settings: Any) -> None:
    """(name, value) pairs as settings of the session (set_config with bind parameters)."""
    for name, value in settings:
        fetch_all(conn, "SELECT set_config($1, $2, false)", (name, value))


def read_in_index_order(conn: Connection) -> None:
    """This session's queries read their ORDER BY from an index instead of sorting (see
    READ_IN_INDEX_ORDER). For a connection that runs only such queries: the scoring reader."""
    _set_session(conn, READ_IN_INDEX_ORDER)


def join_windows_by_hash(conn: Connection) -> None:
    """This session's joins are hashed (see JOIN_WINDOWS_BY_HASH): the training set's builder."""
    _set_session(conn, JOIN_WINDOWS_BY_HASH)


def set_parameters(conn: Connection, parameters: dict[str, str]) -> None:
    """Session settings the SQL files read with current_setting(); names from a fixed list."""
    unknown = set(parameters) - set(SQL_PARAMETERS)
    if unknown:
        raise ValueError(f"unknown SQL parameter(s): {sorted(unknown)}")
    _set_session(conn, parameters.items())


def stream(conn: Connection, sql: str, batch_bytes: int = BATCH_BYTES) -> Iterator[pa.RecordBatch]:
    """The query's rows as Arrow record batches, read with COPY, a batch at a time."""
    with conn.reading(sql, options={"adbc.postgresql.batch_size_hint_bytes": str(batch_bytes)}) as reader:
        yield from reader


@contextmanager
def prefetched(batches: Iterator[Any], depth: int = 2) -> Iterator[Iterator[Any]]:
    """The same batches, read ``depth`` ahead in a thread started now: the database runs the
    query and sends the next batch while the caller prepares and scores (Arrow's reader
    releases the GIL). Memory: ``depth`` + 2 batches at most (queued, one waiting for room,
    one being read).

    Leaving the block, even on an error, stops the thread and waits for it, so the connection
    it reads from is never closed under it.
    """
    import queue
    import threading

    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    break
            else:
                offer(finished)
        except BaseException as error:  # handed to the consumer, which raises it  # noqa: BLE001
            offer(error)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's cleanup (the cursor) runs in this thread, now

    reader = threading.Thread(target=read, name="prefetch", daemon=True)
    reader.start()
    try:
        yield _drain(ahead, finished)
    finally:
        stop.set()
        reader.join()


@contextmanager
def in_background(work: Any) -> Iterator[Any]:
    """``work()`` started now in a thread; yields its future. Leaving the block waits for it,
    so a connection it uses is never closed under it (its error, if any, is the future's)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="background") as executor:
        yield executor.submit(work)


@contextmanager
def written_behind(write: Any, depth: int = 2) -> Iterator[Any]:
    """Yields ``submit(item)``: ``write(item)`` then runs in a thread, in submission order, while
    the caller goes on with the next batch (the writes that release the GIL, COPY and Parquet,
    overlap its work). Memory: ``depth`` items waiting.

    A write's failure is raised in the caller, at its next submit or when the block ends;
    nothing after the failed item is written. Leaving the block waits for every write (on an
    error, for the one in progress only), so a connection they use is never closed under them.
    """
    import queue
    import threading

    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    finished = object()
    failures: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        while (item := waiting.get()) is not finished:
            if failures or stop.is_set():
                continue  # after a failure: drain without writing, so submit never blocks
            try:
                write(item)
            except BaseException as error:  # raised in the caller  # noqa: BLE001
                failures.append(error)

    def submit(item: Any) -> None:
        if failures:
            raise failures[0]
        waiting.put(item)

    thread = threading.Thread(target=writer, name="write-behind", daemon=True)
    thread.start()
    try:
        yield submit
    except BaseException:
        stop.set()
        raise
    finally:
        waiting.put(finished)
        thread.join()
    if failures:
        raise failures[0]


def _drain(ahead: Any, finished: object) -> Iterator[Any]:
    while (item := ahead.get()) is not finished:
        if isinstance(item, BaseException):
            raise item
        yield item


def fetch_table(conn: Connection, sql: str) -> pa.Table:
    """A small query's whole result as an Arrow table (read with COPY too)."""
    with conn.reading(sql) as reader:
        return reader.read_all()


def fetch_all(conn: Connection, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A small query's rows (bind parameters allowed: the result is small)."""
    with conn.reading(sql, parameters) as reader:
        result = reader.read_all()
    return list(zip(*(column.to_pylist() for column in result.columns), strict=True))


def staging_table_ddl(table: str, like: str) -> tuple[str, str]:
    """DROP + CREATE of an unlogged work table shaped like ``like`` (e.g. ml.trade_scores).

    Identifiers come from this package's own fixed names and validated numbers, checked
    against a strict pattern here; they are never user input.
    """
    if not _STAGING_TABLE.match(table):
        raise ValueError(f"invalid staging table name {table!r}")
    if like not in ("ml.trade_scores",):
        raise ValueError(f"{like!r} is not a table staging tables may copy")
    qualified = f'{STAGING_SCHEMA}."{table}"'
    return (
        f"DROP TABLE IF EXISTS {qualified}",
        # UNLOGGED: a work table rebuilt from scratch on retry needs no WAL.
        f"CREATE UNLOGGED TABLE {qualified} (LIKE {like} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
    )


def ingest(conn: Connection, table: str, data: pa.Table | pa.RecordBatch, *, schema: str) -> int:
    """Append rows to <schema>.<table> with COPY (binary); returns the row count."""
    import adbc_driver_manager

    if schema not in INGEST_SCHEMAS:
        raise ValueError(f"{schema!r} is not a schema jobs write into ({', '.join(INGEST_SCHEMAS)})")
    options = {
        adbc_driver_manager.INGEST_OPTION_TARGET_TABLE: table,
        adbc_driver_manager.INGEST_OPTION_MODE: adbc_driver_manager.INGEST_OPTION_MODE_APPEND,
        adbc_driver_manager.StatementOptions.INGEST_TARGET_DB_SCHEMA.value: schema,
    }
    with conn.statement(options=options) as statement:
        if hasattr(data, "__arrow_c_array__"):  # a record batch
            statement.bind(data)
        else:
            statement.bind_stream(data)
        return int(statement.execute_update())


def table_exists(conn: Connection, schema: str, table: str) -> bool:
    """Whether <schema>.<table> exists (and the session may see it)."""
    ((found,),) = fetch_all(
        conn, "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL", (schema, table)
    )
    return bool(found)


def next_partition_identifier(table: str) -> str:
    """ml."<table>" for a date's next partition of ml.trade_scores or ml.shadow_scores; any other
    name is refused."""
    if not _NEXT_PARTITION.match(table):
        raise ValueError(
            f"{table!r} is not a next partition of ml.trade_scores or ml.shadow_scores "
            "(trade_scores_pYYYYMMDD_next, shadow_scores_pYYYYMMDD_next)"
        )
    return f'{SCORES_SCHEMA}."{table}"'


def delete_shard_slice(conn: Connection, table: str) -> int:
    """Delete this session's shard of the next partition ``table`` (the shard parameters set with
    set_parameters); returns the rows deleted. In the caller's transaction."""
    statement = read_sql("delete_shard_slice.sql").replace("{scores_table}", next_partition_identifier(table))
    return conn.update(statement)


def execute(conn: Connection, sql: str) -> None:
    """Run a statement whose result is not needed (DDL, a work table's DROP + CREATE)."""
    conn.update(sql)
