"""ops.trades: the business-date index also orders each date's trades by id (byte order).

The scoring job streams a date's pending trades in a fixed order (business date, then trade
id in byte order) so that the same rows always give the same Parquet bytes and messages. With
this index that order comes straight from the index, and the first rows reach the job at once;
without it PostgreSQL sorts every pending trade before sending the first one (about 2 s and a
150 MB spill to disk per 1,000,000 trades). It replaces ix_trades_business_date, whose lookups
by business date it serves the same way.

Revision ID: 0006_trades_scoring_order
Revises: 0005_partitions
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_trades_scoring_order"
down_revision: str | None = "0005_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trades_business_date_trade_id",
        "trades",
        ["business_date", sa.text('trade_id COLLATE "C"')],
        unique=False,
        schema="ops",
    )
    op.drop_index("ix_trades_business_date", table_name="trades", schema="ops")


def downgrade() -> None:
    op.create_index("ix_trades_business_date", "trades", ["business_date"], unique=False, schema="ops")
    op.drop_index("ix_trades_business_date_trade_id", table_name="trades", schema="ops")
