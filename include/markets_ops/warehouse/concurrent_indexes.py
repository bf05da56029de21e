"""Index builds and drops that do not block writes: CREATE / DROP INDEX CONCURRENTLY in a migration.

A plain CREATE INDEX holds a SHARE lock on its table for the whole build, and DROP INDEX an
ACCESS EXCLUSIVE one: every INSERT, UPDATE and DELETE of the pipelines waits until it is done.
CONCURRENTLY takes a SHARE UPDATE EXCLUSIVE lock instead, which reads and writes do not conflict
with, at the price of two passes over the table and waits for the transactions that were
writing to it when the build started. PostgreSQL refuses it inside a transaction block, so it
runs in Alembic's autocommit_block(): the migration's transaction is committed first, and the
statement runs on its own (the version stamp follows in a new transaction).

Retries. A concurrent build that fails (lock or statement timeout, a cancel) leaves an INVALID
index behind: queries do not use it, but every write still maintains it. IF NOT EXISTS would
keep such an index as it is, so before building, an INVALID index of that name is dropped
(concurrently) and the build starts over; a VALID one, built by an earlier try that failed
later on, is kept. Drops use IF EXISTS. A migration that failed anywhere can be run again.
(Offline --sql scripts cannot look at the catalog: they show the statements of a first run.)

Only for tables that exist before the migration runs. On a table the same migration creates,
a plain index costs nothing and stays inside the migration's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from include.markets_ops.services.sql_files import read_sql


def create_index_concurrently(
    name: str,
    table: str,
    columns: Sequence[str | sa.TextClause],
    *,
    schema: str,
    **dialect_options: Any,
) -> None:
    """CREATE INDEX CONCURRENTLY IF NOT EXISTS, after dropping an INVALID leftover of the same name."""
    if _is_invalid(name, schema):
        drop_index_concurrently(name, table, schema=schema)
    with op.get_context().autocommit_block():
        op.create_index(
            name,
            table,
            list(columns),
            schema=schema,
            unique=False,
            if_not_exists=True,
            postgresql_concurrently=True,
            **dialect_options,
        )


def drop_index_concurrently(name: str, table: str, *, schema: str) -> None:
    """DROP INDEX CONCURRENTLY IF EXISTS."""
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, schema=schema, if_exists=True, postgresql_concurrently=True)


def _is_invalid(name: str, schema: str) -> bool:
    if op.get_context().as_sql:
        return False  # no catalog to read: the script shows a first run
    is_invalid = (
        op.get_bind()
        .execute(sa.text(read_sql("migrations/index_is_invalid.sql")), {"schema": schema, "name": name})
        .scalar()
    )
    return bool(is_invalid)
