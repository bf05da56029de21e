"""Alembic environment for the warehouse.

Online (the way migrations are applied: python -m include.markets_ops.warehouse upgrade), and
offline (``upgrade --sql``: the SQL script of a range of revisions, which `make lint` checks with
squawk). Either way every migration runs under the lock and statement timeouts of
warehouse/migration_timeouts.py, set here once for the whole session.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from settlement_model.timeouts import postgres_timeouts
from sqlalchemy import create_engine, pool

from include.markets_ops.warehouse.migration_timeouts import from_environment
from include.markets_ops.warehouse.models import Base, managed_by_migrations

target_metadata = Base.metadata

COMMON_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "include_schemas": True,
    "include_name": managed_by_migrations,
    "version_table_schema": "public",
    # One transaction per revision, so that a revision's autocommit_block() (CONCURRENTLY index
    # builds) commits only that revision's own work before it.
    "transaction_per_migration": True,
    "compare_type": True,
}


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set: run migrations through warehouse.migrate")
    timeouts = from_environment()
    # Session settings given at connect time: in force from the first statement, for the
    # statements of autocommit blocks too, and not undone when a transaction rolls back. The
    # connection itself is bounded like every other (connect timeout, liveness).
    connect_args = {**postgres_timeouts(), "options": timeouts.libpq_options()}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    with engine.connect() as connection:
        context.configure(connection=connection, **COMMON_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_offline() -> None:
    timeouts = from_environment()
    context.configure(dialect_name="postgresql", literal_binds=True, **COMMON_OPTIONS)
    for statement in timeouts.set_statements():
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
