"""Alembic environment for the warehouse (online mode only: migrations need the database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from include.markets_ops.warehouse.models import Base, managed_by_migrations

target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set: run migrations through warehouse.migrate")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_schemas=True,
            include_name=managed_by_migrations,
            version_table_schema="public",
            transaction_per_migration=True,
            compare_type=True,
        )
        with context.begin_transaction():
            # A migration waiting on a lock must not stall the nightly pipelines for long.
            connection.exec_driver_sql("SET lock_timeout = '30s'")
            context.run_migrations()


run_migrations_online()
