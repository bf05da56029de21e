"""Concurrent index builds and drops, as Alembic writes them offline: outside the revision's
transaction (COMMIT before, BEGIN after), CONCURRENTLY, and safe to run again (IF [NOT] EXISTS).
Their online behaviour (writers not blocked, an INVALID leftover rebuilt) is shown on the real
database in tests/integration/test_warehouse_migrations.py."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from include.markets_ops.warehouse.concurrent_indexes import (
    create_index_concurrently,
    drop_index_concurrently,
)


def offline_sql(operation: Callable[[], None]) -> list[str]:
    """The statements an operation writes inside an offline revision's transaction."""
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql",
        opts={"as_sql": True, "output_buffer": buffer, "transaction_per_migration": True},
    )
    with Operations.context(context), context.begin_transaction(_per_migration=True):
        operation()
    return [re.sub(r"\s+", " ", part).strip() for part in buffer.getvalue().split(";") if part.strip()]


def test_a_build_runs_concurrently_between_the_transactions_and_can_be_repeated() -> None:
    statements = offline_sql(
        lambda: create_index_concurrently(
            "ix_trades_business_date_trade_id",
            "trades",
            ["business_date", sa.text('trade_id COLLATE "C"')],
            schema="ops",
        )
    )
    assert statements == [
        "BEGIN",
        "COMMIT",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_trades_business_date_trade_id "
        'ON ops.trades (business_date, trade_id COLLATE "C")',
        "BEGIN",
        "COMMIT",
    ]


def test_a_partial_index_keeps_its_predicate() -> None:
    statements = offline_sql(
        lambda: create_index_concurrently(
            "ix_settlement_outcomes_failed_business_date",
            "settlement_outcomes",
            ["business_date", "trade_id"],
            schema="ops",
            postgresql_where=sa.text("outcome = 'failed'"),
        )
    )
    assert (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_settlement_outcomes_failed_business_date "
        "ON ops.settlement_outcomes (business_date, trade_id) WHERE outcome = 'failed'"
    ) in statements


def test_a_drop_runs_concurrently_between_the_transactions_and_can_be_repeated() -> None:
    statements = offline_sql(
        lambda: drop_index_concurrently("ix_trades_business_date", "trades", schema="ops")
    )
    assert statements == [
        "BEGIN",
        "COMMIT",
        "DROP INDEX CONCURRENTLY IF EXISTS ops.ix_trades_business_date",
        "BEGIN",
        "COMMIT",
    ]
