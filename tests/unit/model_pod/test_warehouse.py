"""Reading ahead and writing behind in a thread keep the order and do not swallow a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from settlement_model import warehouse


def test_prefetched_batches_come_in_order() -> None:
    with warehouse.prefetched(iter(range(50)), depth=3) as batches:
        assert list(batches) == list(range(50))


def test_a_read_failure_reaches_the_consumer_after_the_good_batches() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("server closed the connection")

    with warehouse.prefetched(failing()) as batches:
        assert [next(batches), next(batches)] == [1, 2]
        with pytest.raises(ConnectionError, match="server closed"):
            next(batches)


def test_leaving_early_stops_the_reader_and_closes_its_source() -> None:
    closed = []

    def endless() -> Iterator[int]:
        try:
            number = 0
            while True:
                number += 1
                yield number
        finally:
            closed.append(True)

    def score_one_then_fail() -> None:
        with warehouse.prefetched(endless()) as batches:
            next(batches)
            raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError, match="scoring failed"):
        score_one_then_fail()
    assert closed == [True]  # the reader finished before the block was left


def test_written_behind_writes_everything_in_order_before_the_block_ends() -> None:
    written: list[int] = []
    with warehouse.written_behind(written.append, depth=2) as submit:
        for number in range(100):
            submit(number)
    assert written == list(range(100))


def test_a_write_failure_is_raised_in_the_caller_and_stops_the_writes() -> None:
    written: list[int] = []

    def write(number: int) -> None:
        if number == 3:
            raise ConnectionError("COPY failed: server closed the connection")
        written.append(number)

    def submit_all() -> None:  # raised at a later submit or when the block ends
        with warehouse.written_behind(write, depth=1) as submit:
            for number in range(50):
                submit(number)

    with pytest.raises(ConnectionError, match="COPY failed"):
        submit_all()
    assert written == [0, 1, 2]  # nothing after the failed item


def test_a_failure_in_the_block_waits_for_the_write_in_progress_and_skips_the_rest() -> None:
    import threading

    started, release = threading.Event(), threading.Event()
    written: list[int] = []

    def slow_write(number: int) -> None:
        started.set()
        release.wait(timeout=5)
        written.append(number)

    def score_then_fail() -> None:
        with warehouse.written_behind(slow_write, depth=2) as submit:
            submit(1)
            submit(2)
            started.wait(timeout=5)
            threading.Timer(0.3, release.set).start()  # the first write ends after the failure
            raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError, match="scoring failed"):
        score_then_fail()
    assert release.is_set()  # the block was left only once the write in progress had ended
    assert written == [1]  # the item still waiting was not written


@pytest.mark.parametrize("name", ["trade_scores_20261120_s000_of_002", "a"])
def test_valid_staging_table_names(name: str) -> None:
    drop, create = warehouse.staging_table_ddl(name, like="ml.trade_scores")
    assert drop == f'DROP TABLE IF EXISTS staging."{name}"'
    assert create.startswith(f'CREATE UNLOGGED TABLE staging."{name}" (LIKE ml.trade_scores')


@pytest.mark.parametrize(
    ("name", "like"),
    [
        ('x"; DROP TABLE ops.trades; --', "ml.trade_scores"),
        ("Upper", "ml.trade_scores"),
        ("ok", "ops.trades"),
    ],
)
def test_anything_else_is_refused(name: str, like: str) -> None:
    with pytest.raises(ValueError, match="staging"):
        warehouse.staging_table_ddl(name, like=like)


def test_the_next_partition_is_the_only_ml_table_a_job_names() -> None:
    assert (
        warehouse.next_partition_identifier("trade_scores_p20261120_next")
        == 'ml."trade_scores_p20261120_next"'
    )
    for name in (
        "trade_scores",
        "trade_scores_p20261120",
        'trade_scores_p20261120_next"; --',
        "model_promotions",
    ):
        with pytest.raises(ValueError, match="not a next partition"):
            warehouse.next_partition_identifier(name)


def test_rows_are_ingested_only_into_staging_or_ml() -> None:
    with pytest.raises(ValueError, match="'ops' is not a schema jobs write into"):
        warehouse.ingest(object(), "trades", None, schema="ops")  # type: ignore[arg-type]


def test_a_server_that_does_not_answer_fails_the_connection_within_its_timeout() -> None:
    """A port that accepts TCP and never answers, as a paused server does: libpq (under ADBC)
    gives up after the URL's connect_timeout (the jobs' URLs get one: timeouts.py)."""
    import socket
    import time

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with (
            pytest.raises(Exception, match="timeout expired"),
            warehouse.connect(f"postgresql://u:p@127.0.0.1:{port}/db?connect_timeout=2"),
        ):
            pass
        assert time.monotonic() - started < 10


def test_bind_parameters_are_one_arrow_row_of_their_own_types() -> None:
    import datetime as dt

    import pyarrow as pa

    row = warehouse._parameter_row(("statement_timeout", "naïve ü", "", 7, dt.date(2026, 12, 1)))
    assert row.num_rows == 1
    assert [field.type for field in row.schema] == [pa.string()] * 3 + [pa.int64(), pa.date32()]
    assert [column[0].as_py() for column in row.columns] == [
        "statement_timeout",
        "naïve ü",
        "",
        7,
        dt.date(2026, 12, 1),
    ]


OPEN_A_SESSION = """
import sys
from settlement_model import warehouse
row = warehouse._parameter_row(("application_name", "settlement-model"))
try:
    with warehouse.connect("postgresql://job@127.0.0.1:1/warehouse"):  # nothing listens
        pass
except Exception as refused:
    print(type(refused).__module__)
heavy = ("pandas", "pyarrow.dataset", "adbc_driver_manager.dbapi")
print(sorted(name for name in heavy if name in sys.modules))
"""


def test_a_session_imports_neither_adbcs_db_api_nor_pandas() -> None:
    """Every job opens its sessions first: pandas (0.3 s, through ADBC's DB-API module and
    pyarrow's conversion of Python values) would come before its first query."""
    import subprocess
    import sys
    from pathlib import Path

    model_pod = Path(__file__).resolve().parents[3] / "model_pod"
    completed = subprocess.run(
        [sys.executable, "-c", OPEN_A_SESSION],
        cwd=model_pod,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.splitlines() == [
        "adbc_driver_manager",
        "[]",
    ]  # refused by the driver; nothing imported


class _Closable:
    def __init__(self, name: str, closed: list[str], fails: bool = False) -> None:
        self.name, self.closed, self.fails = name, closed, fails

    def close(self) -> None:
        self.closed.append(self.name)
        if self.fails:
            raise RuntimeError(f"{self.name} cannot close")


def _session_of(
    closed: list[str], *leftovers: _Closable, connection_fails: bool = False
) -> warehouse.Connection:
    """A session without a server: its database, connection and leftovers (still open, as a
    generator abandoned mid-read leaves them) record their closes."""
    session = object.__new__(warehouse.Connection)
    session._database = _Closable("database", closed)
    session._connection = _Closable("connection", closed, fails=connection_fails)
    session._open = {id(resource): resource for resource in leftovers}
    return session


def _chain(error: BaseException | None) -> list[str]:
    """The error, then its __context__, and so on."""
    messages = []
    while error is not None:
        messages.append(str(error))
        error = error.__context__
    return messages


def test_closing_a_session_closes_its_leftovers_latest_first_then_the_connection() -> None:
    closed: list[str] = []
    session = _session_of(closed, _Closable("statement", closed), _Closable("reader", closed))
    session.close()
    assert closed == ["reader", "statement", "connection", "database"]


def test_a_leftover_that_cannot_close_still_lets_the_connection_and_database_close() -> None:
    closed: list[str] = []
    session = _session_of(closed, _Closable("statement", closed), _Closable("reader", closed, fails=True))
    with pytest.raises(RuntimeError, match="reader cannot close"):
        session.close()
    assert closed == ["reader", "statement", "connection", "database"]


def _fail_a_read_then_close(session: warehouse.Connection) -> None:
    try:
        raise ValueError("the read failed")
    finally:
        session.close()


def test_every_failure_to_close_and_the_error_in_flight_stay_in_the_chain() -> None:
    """A session closed while a read's error propagates: that error must still reach the caller,
    behind the failures of the closes."""
    closed: list[str] = []
    session = _session_of(closed, _Closable("reader", closed, fails=True), connection_fails=True)
    with pytest.raises(RuntimeError) as raised:
        _fail_a_read_then_close(session)
    assert _chain(raised.value) == ["connection cannot close", "reader cannot close", "the read failed"]
    assert closed == ["reader", "connection", "database"]
