"""Lineage: what each task reads and writes, reported to Airflow's hook lineage collector, which
the OpenLineage provider turns into the task's events on ``openlineage.events`` (docs/lineage.md).

The reporting is done by the clients, not by each task: a warehouse connection opened in a task
reports the project's tables its statements read and write (parsed with the provider's own SQL
parser, ``openlineage-sql``), an S3 client the datasets it gets and puts, the events relay the
topics it produces to. Dataset names come from settlement_model.lineage_names, as the model
jobs' own events name them. Reporting never fails a task: a statement the parser cannot read is
left out of the graph, with a debug line.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from settlement_model import lineage_names
from settlement_model.lineage_names import DatasetName

log = logging.getLogger(__name__)

# The OpenLineage client's configuration ({"transport": {...}}) as an Airflow connection's
# extra: the provider reads it ([openlineage] config_conn_id), the local runtime passes it on to
# the model jobs. Locally its value comes from the environment (devstack/airflow.py).
LINEAGE_CONN_ID = "openlineage"

# Bind parameters are not SQL the parser reads; NULL stands in for any value.
_BIND_PARAMETER = re.compile(r"%\((\w+)\)s|%s")
_COPY = re.compile(
    r"^(?:\s*--[^\n]*\n)*\s*COPY\s+(\(.*\)|[\w.\"]+)\s*(?:\([^)]*\))?\s+(FROM|TO)\b",
    re.IGNORECASE | re.DOTALL,
)
# One context for every report: the collector counts a dataset once per context.
_CONTEXT = object()


def report(inputs: tuple[DatasetName, ...] = (), outputs: tuple[DatasetName, ...] = ()) -> None:
    """Add datasets to the running task's lineage (a no-op outside a task)."""
    try:
        collector = _collector()
        for dataset in inputs:
            collector.add_input_asset(context=_CONTEXT, uri=asset_uri(dataset))
        for dataset in outputs:
            collector.add_output_asset(context=_CONTEXT, uri=asset_uri(dataset))
    except Exception:  # lineage must never fail the task that reports it
        log.warning("could not report lineage %s -> %s", inputs, outputs, exc_info=True)


def _collector() -> Any:
    from airflow.sdk.lineage import get_hook_lineage_collector

    return get_hook_lineage_collector()


def asset_uri(dataset: DatasetName) -> str:
    """The Airflow asset URI the providers' converters turn back into this OpenLineage dataset
    (postgres://host:port/database/schema/table, s3://bucket/prefix, kafka://host:port/topic)."""
    if dataset.namespace.startswith("postgres://"):
        return f"{dataset.namespace}/{dataset.name.replace('.', '/')}"
    return f"{dataset.namespace}/{dataset.name}"


# --- SQL --------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def tables_of(statement: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The project's tables a statement reads and writes, as (inputs, outputs) of
    ``schema.table`` names: temporary work tables and catalogs are not lineage."""
    copy = _COPY.match(statement)
    if copy:
        return _tables_of_copy(copy.group(1), copy.group(2).upper())
    import openlineage_sql

    parsed = openlineage_sql.parse([_BIND_PARAMETER.sub("NULL", statement)], dialect="postgres")
    if parsed is None:
        return (), ()
    if parsed.errors:
        log.debug("lineage: statement not parsed (%s): %.120s", parsed.errors[0].message, statement)
    return _project_tables(parsed.in_tables), _project_tables(parsed.out_tables)


def _tables_of_copy(target: str, direction: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if target.startswith("("):  # COPY (SELECT ...) TO STDOUT reads what the query reads
        return tables_of(target[1:-1])[0], ()
    name = target.replace('"', "")
    tables = (name,) if _is_project_table(name) else ()
    return (tables, ()) if direction == "TO" else ((), tables)


def _project_tables(tables: Any) -> tuple[str, ...]:
    names = (f"{table.schema}.{table.name}" for table in tables if table.schema)
    return tuple(sorted({name for name in names if _is_project_table(name)}))


def _is_project_table(name: str) -> bool:
    schema, _, table = name.partition(".")
    return bool(table) and schema in lineage_names.PROJECT_SCHEMAS


def report_statement(statement: Any, connection: Any) -> None:
    """Report the tables of a statement run on ``connection`` (a str or a psycopg Composable)."""
    try:
        text = statement if isinstance(statement, str) else statement.as_string(connection)
        if isinstance(text, bytes):
            text = text.decode()
        inputs, outputs = tables_of(text)
    except Exception:
        log.debug("lineage: statement not read", exc_info=True)
        return
    if inputs or outputs:
        report(
            inputs=tuple(lineage_names.table(name) for name in inputs),
            outputs=tuple(lineage_names.table(name) for name in outputs),
        )


@lru_cache(maxsize=1)
def lineage_cursor_factories() -> tuple[type, type]:
    """psycopg cursor classes (client-side, server-side) whose statements (execute,
    executemany, copy) report their tables."""
    import psycopg

    class LineageCursor(psycopg.Cursor):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            report_statement(query, self.connection)
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            report_statement(query, self.connection)
            return super().executemany(query, *args, **kwargs)

        def copy(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
            report_statement(statement, self.connection)
            return super().copy(statement, *args, **kwargs)

    class LineageServerCursor(psycopg.ServerCursor):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            report_statement(query, self.connection)
            return super().execute(query, *args, **kwargs)

    return LineageCursor, LineageServerCursor


def track_statements(connection: Any) -> Any:
    """Make a psycopg connection's cursors report the tables of their statements."""
    connection.cursor_factory, connection.server_cursor_factory = lineage_cursor_factories()
    return connection


def enabled() -> bool:
    """Whether lineage is emitted: the OpenLineage provider installed and not disabled
    ([openlineage] disabled, what ``LINEAGE=off make up`` sets)."""
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    return not is_disabled()


def collecting() -> bool:
    """Whether the clients opened here report lineage: in a task, with lineage on."""
    return in_task() and enabled()


def in_task() -> bool:
    """Whether this process is running a task (lineage is collected for tasks only: the
    dashboard and the demo open the same connections)."""
    try:
        from airflow.sdk import get_current_context

        get_current_context()
    except (ImportError, RuntimeError):  # outside a task: "no context was found"
        return False
    return True


# --- S3 and Kafka -----------------------------------------------------------------------------

_S3_READS = ("GetObject",)
_S3_WRITES = ("PutObject", "CreateMultipartUpload", "CopyObject")


def track_s3(client: Any) -> Any:
    """Make an S3 client report the datasets of the objects it gets and puts."""

    def on_call(params: dict[str, Any], model: Any, **_: Any) -> None:
        bucket, key = params.get("Bucket"), params.get("Key")
        if not bucket or not key:
            return
        dataset = lineage_names.s3_object(bucket, key)
        if model.name in _S3_READS:
            report(inputs=(dataset,))
        else:
            report(outputs=(dataset,))

    for operation in _S3_READS + _S3_WRITES:
        client.meta.events.register(f"provide-client-params.s3.{operation}", on_call)
    return client


def report_topics(read: tuple[str, ...] = (), written: tuple[str, ...] = ()) -> None:
    report(
        inputs=tuple(lineage_names.topic(name) for name in read),
        outputs=tuple(lineage_names.topic(name) for name in written),
    )
