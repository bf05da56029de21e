"""Least privilege on the stack's warehouse, as granted by the migrations: checked in the
catalog for every table, and by attempts that must be refused."""

from __future__ import annotations

import psycopg
import pytest

PIPELINE_SCHEMAS = ["ops", "ml", "reporting"]
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")

PRIVILEGES = """
    SELECT n.nspname || '.' || c.relname AS table_name,
           has_table_privilege(%(role)s, c.oid, 'SELECT') AS can_select,
           has_table_privilege(%(role)s, c.oid, 'INSERT') AS can_insert,
           has_table_privilege(%(role)s, c.oid, 'UPDATE') AS can_update,
           has_table_privilege(%(role)s, c.oid, 'DELETE') AS can_delete,
           has_table_privilege(%(role)s, c.oid, 'TRUNCATE') AS can_truncate
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
    ORDER BY 1
"""


def privileges(stack: dict[str, str], role: str, schemas: list[str]) -> dict[str, tuple[bool, ...]]:
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:
        rows = owner.execute(PRIVILEGES, {"role": role, "schemas": schemas}).fetchall()
    assert rows, f"no tables found in {schemas}"
    return {row[0]: tuple(row[1:]) for row in rows}


def schema_privilege(stack: dict[str, str], role: str, schema: str, privilege: str) -> bool:
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:
        return bool(
            owner.execute("SELECT has_schema_privilege(%s, %s, %s)", (role, schema, privilege)).fetchone()[0]
        )


def test_the_reporting_reader_reads_the_pipeline_schemas_and_writes_nothing(stack: dict[str, str]) -> None:
    for table, (can_select, *writes) in privileges(stack, "reporting_reader", PIPELINE_SCHEMAS).items():
        assert can_select, table
        assert not any(writes), table
    assert not any(any(p) for p in privileges(stack, "reporting_reader", ["synthetic"]).values())
    assert not schema_privilege(stack, "reporting_reader", "staging", "CREATE")


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO ops.currencies (currency_code, name, minor_units) VALUES ('QQQ', 'x', 2)",
        "UPDATE ops.trades SET status = 'failed'",
        "DELETE FROM reporting.quarantine",
        "TRUNCATE ml.trade_scores",
        "CREATE TABLE staging.reader_was_here (x int)",
        "SELECT count(*) FROM synthetic.trade_fail_probability",
    ],
)
def test_the_reporting_reader_is_refused(stack: dict[str, str], statement: str) -> None:
    with (
        psycopg.connect(stack["REPORTING_READER_URL"]) as reader,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        reader.execute(statement)


def test_the_writer_writes_the_pipeline_schemas_and_cannot_read_the_truth(stack: dict[str, str]) -> None:
    for table, (can_select, can_insert, can_update, can_delete, _) in privileges(
        stack, "warehouse_writer", PIPELINE_SCHEMAS
    ).items():
        assert all((can_select, can_insert, can_update, can_delete)), table
    assert not any(any(p) for p in privileges(stack, "warehouse_writer", ["synthetic"]).values())
    assert schema_privilege(stack, "warehouse_writer", "staging", "CREATE")
    with (
        psycopg.connect(stack["POSTGRES_URL"]) as writer,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        writer.execute("SELECT p_fail FROM synthetic.trade_fail_probability LIMIT 1")


def test_the_upstream_feed_touches_only_the_synthetic_schema(stack: dict[str, str]) -> None:
    for table, (can_select, can_insert, can_update, can_delete, _) in privileges(
        stack, "upstream_feed", ["synthetic"]
    ).items():
        assert all((can_select, can_insert, can_update, can_delete)), table
    assert not any(any(p) for p in privileges(stack, "upstream_feed", PIPELINE_SCHEMAS).values())
    for schema in ("ops", "ml", "reporting", "staging"):
        assert not schema_privilege(stack, "upstream_feed", schema, "USAGE"), schema
    with (
        psycopg.connect(stack["UPSTREAM_FEED_URL"]) as upstream,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        upstream.execute("SELECT count(*) FROM ops.trades")
