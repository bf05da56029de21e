"""Every DAG file imports cleanly through Airflow's own DagBag, does no I/O at parse time,
and carries what the operations team needs (owner, tags, retries, documentation).

"No I/O at parse time" is counted, as Airflow's own test_should_not_run_hook_connections
does: while the DagBag imports the files, every SQLAlchemy statement on any engine (the
metadata database included, even SQLite, which opens no socket), every Python socket
connect, every PostgreSQL driver connect (libpq opens its sockets in C, out of the socket
module's sight) and every connection or Variable lookup (Task SDK and ORM alike) is
recorded and refused. The negative tests below feed the same recorder one bad DAG file per
kind of access, to show it catches each.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import socket
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))
DOC_SECTIONS = ("Owner", "What it does", "How to triage", "How to rerun")

SQL_QUERY = "SQL query (metadata database or any other SQLAlchemy engine)"
SOCKET_CONNECT = "socket connect"
PSYCOPG_CONNECT = "psycopg.connect"
PSYCOPG2_CONNECT = "psycopg2.connect"
SDK_VARIABLE_GET = "airflow.sdk.Variable.get"
ORM_VARIABLE_GET = "airflow.models.Variable.get"
SDK_HOOK_CONNECTION = "airflow.sdk.BaseHook.get_connection"
SDK_CONNECTION_GET = "airflow.sdk.Connection.get"
ORM_CONNECTION_LOOKUP = "airflow.models.Connection.get_connection_from_secrets"
ACCESS_KINDS = (
    SQL_QUERY,
    SOCKET_CONNECT,
    PSYCOPG_CONNECT,
    PSYCOPG2_CONNECT,
    SDK_VARIABLE_GET,
    ORM_VARIABLE_GET,
    SDK_HOOK_CONNECTION,
    SDK_CONNECTION_GET,
    ORM_CONNECTION_LOOKUP,
)


class ParseTimeAccessError(AssertionError):
    """Raised in place of a lookup or connect at parse time, so nothing real happens."""


@dataclass
class ParseActivity:
    """What importing a DAG folder did: the DagBag, and each recorded access by kind."""

    dagbag: Any = None
    accesses: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(self.accesses.get(kind, [])) for kind in ACCESS_KINDS}


@contextlib.contextmanager
def recording_parse_activity() -> Iterator[ParseActivity]:
    """Count (and refuse) every database query, connect and connection/Variable lookup made
    inside the block."""
    import airflow.models.connection
    import airflow.models.variable
    import psycopg
    import psycopg2
    from airflow.sdk import BaseHook, Connection, Variable
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    activity = ParseActivity()

    def refuse(kind: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            activity.accesses[kind].append(repr(args)[:200])
            raise ParseTimeAccessError(f"{kind} at DAG parse time")

        return refused

    def count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Counted, not refused: a listener cannot stop the statement without breaking the
        # engine's own bookkeeping, and the statement itself is harmless here.
        activity.accesses[SQL_QUERY].append(statement[:200])

    # (object, attribute, kind). psycopg.connect is an alias of Connection.connect taken at
    # import, so both names are covered; SQLAlchemy's drivers call the module's connect.
    patched = [
        (socket.socket, "connect", SOCKET_CONNECT),
        (socket.socket, "connect_ex", SOCKET_CONNECT),
        (psycopg, "connect", PSYCOPG_CONNECT),
        (psycopg.Connection, "connect", PSYCOPG_CONNECT),
        (psycopg2, "connect", PSYCOPG2_CONNECT),
        (Variable, "get", SDK_VARIABLE_GET),
        (airflow.models.variable.Variable, "get", ORM_VARIABLE_GET),
        (BaseHook, "get_connection", SDK_HOOK_CONNECTION),
        (Connection, "get", SDK_CONNECTION_GET),
        (airflow.models.connection.Connection, "get_connection_from_secrets", ORM_CONNECTION_LOOKUP),
    ]
    with contextlib.ExitStack() as stack:
        for target, attribute, kind in patched:
            stack.enter_context(mock.patch.object(target, attribute, refuse(kind)))
        # On the Engine class: every engine, including ones created while parsing.
        event.listen(Engine, "before_cursor_execute", count_statement)
        stack.callback(event.remove, Engine, "before_cursor_execute", count_statement)
        yield activity


def parse_folder(folder: Path) -> ParseActivity:
    from airflow.dag_processing.dagbag import DagBag

    with recording_parse_activity() as activity:
        activity.dagbag = DagBag(dag_folder=folder)
    return activity


@pytest.fixture(scope="module")
def parse_activity() -> ParseActivity:
    return parse_folder(DAGS_FOLDER)


def test_the_dags_folder_has_dag_files() -> None:
    # Guards the tests below against checking an empty or wrong folder.
    assert DAGS_FOLDER.is_absolute()
    assert len(DAG_FILES) >= 1


def test_every_file_imports_without_errors(parse_activity: ParseActivity) -> None:
    dagbag = parse_activity.dagbag
    assert dagbag.import_errors == {}
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAG_FILES}


def test_parsing_makes_no_query_connect_or_connection_and_variable_lookup(
    parse_activity: ParseActivity,
) -> None:
    assert dict(parse_activity.accesses) == {}
    assert parse_activity.counts == dict.fromkeys(ACCESS_KINDS, 0)


def test_the_sql_counter_sees_a_query_on_the_metadata_database() -> None:
    # The counter listens on the Engine class; this proves it hears Airflow's own engine
    # (SQLite in the tests) and that the listener is removed afterwards.
    from airflow import settings
    from sqlalchemy import text

    with recording_parse_activity() as activity, settings.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert activity.counts[SQL_QUERY] == 1
    with settings.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert activity.counts[SQL_QUERY] == 1


# One deliberately bad DAG file per kind of access. Each declares a DAG as well, so the
# DagBag's safe mode (files mentioning "airflow" and "dag") imports it. Connects go to port
# 9 on loopback (discard, closed here): refused at once even if they were not intercepted.
BAD_DAG_HEADER = """\
import datetime
from airflow.sdk import DAG
"""
BAD_DAG_FOOTER = """
with DAG("bad_dag", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    pass
"""
BAD_PARSE_TIME_CODE = {
    SQL_QUERY: """
        from airflow import settings
        from sqlalchemy import text
        settings.Session().execute(text("SELECT 1"))
    """,
    SOCKET_CONNECT: """
        import socket
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    """,
    PSYCOPG_CONNECT: """
        import psycopg
        psycopg.connect("host=127.0.0.1 port=9 dbname=x user=x connect_timeout=1")
    """,
    PSYCOPG2_CONNECT: """
        import psycopg2
        psycopg2.connect("host=127.0.0.1 port=9 dbname=x user=x connect_timeout=1")
    """,
    SDK_VARIABLE_GET: """
        from airflow.sdk import Variable
        Variable.get("shard_count", default=4)
    """,
    ORM_VARIABLE_GET: """
        from airflow.models import Variable
        Variable.get("shard_count", default_var=4)
    """,
    SDK_HOOK_CONNECTION: """
        from airflow.sdk import BaseHook
        BaseHook.get_connection("warehouse")
    """,
    SDK_CONNECTION_GET: """
        from airflow.sdk import Connection
        Connection.get("warehouse")
    """,
    ORM_CONNECTION_LOOKUP: """
        from airflow.models.connection import Connection
        Connection.get_connection_from_secrets("warehouse")
    """,
}


@pytest.mark.parametrize("kind", ACCESS_KINDS)
def test_the_recorder_catches_a_dag_file_that_does_it_at_parse_time(kind: str, tmp_path: Path) -> None:
    bad_code = textwrap.dedent(BAD_PARSE_TIME_CODE[kind])
    (tmp_path / "bad_dag.py").write_text(BAD_DAG_HEADER + bad_code + BAD_DAG_FOOTER)

    activity = parse_folder(tmp_path)

    assert activity.counts == {**dict.fromkeys(ACCESS_KINDS, 0), kind: 1}


def test_every_dag_is_documented_owned_tagged_and_retried(parse_activity: ParseActivity) -> None:
    problems = []
    for dag_id, dag in parse_activity.dagbag.dags.items():
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        missing = [section for section in DOC_SECTIONS if section not in (dag.doc_md or "")]
        if missing:
            problems.append(f"{dag_id}: doc_md lacks {missing}")
        for task in dag.tasks:
            if not task.owner or task.owner == "airflow":
                problems.append(f"{dag_id}.{task.task_id}: no owner")
            if task.retries < 2:
                problems.append(f"{dag_id}.{task.task_id}: retries={task.retries}")
    assert problems == []


def test_every_task_backs_off_between_its_tries(parse_activity: ParseActivity) -> None:
    """The retry policy of airflow/defaults.py everywhere: a delay that doubles (an explicit
    multiplier of 2: Airflow 3 reads ``True`` as 1 until the DAG is serialized), from 30 s,
    capped at 10 minutes."""
    policies = {
        (task.retry_delay, task.retry_exponential_backoff, task.max_retry_delay)
        for dag in parse_activity.dagbag.dags.values()
        for task in dag.tasks
    }
    assert policies == {(dt.timedelta(seconds=30), 2.0, dt.timedelta(minutes=10))}
    assert all(
        type(task.retry_exponential_backoff) is float
        for dag in parse_activity.dagbag.dags.values()
        for task in dag.tasks
    )


def test_every_task_retries_by_cause(parse_activity: ParseActivity) -> None:
    """One retry policy, airflow/retries.py's, on every task of every DAG (mapped ones too)."""
    from include.markets_ops.airflow.retries import RETRY_BY_CAUSE

    without = [
        f"{dag_id}.{task.task_id}"
        for dag_id, dag in parse_activity.dagbag.dags.items()
        for task in dag.tasks
        if getattr(task, "retry_policy", None) is not RETRY_BY_CAUSE
        and (getattr(task, "partial_kwargs", None) or {}).get("retry_policy") is not RETRY_BY_CAUSE
    ]
    assert len(parse_activity.dagbag.dags) >= 8  # the DAGs were parsed
    assert without == []
