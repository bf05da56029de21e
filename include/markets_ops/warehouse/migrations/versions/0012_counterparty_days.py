"""ops.counterparty_settlement_days: each counterparty's settlement attempts and fails per
reporting date, written with each date's outcomes (the feed's settlement_outcomes load, the bulk
seed). The model's 90-day counterparty history (settlement_model/sql/counterparty_history.sql)
reads it instead of joining 90 days of outcomes to their trades on every scoring night: at 1M
trades a day that join took 93 s of the scoring job's 107 s (python -m benchmarks night).

A new table (grants from 0002's default privileges on ops: writer read and write, reader
read), filled from the outcomes already loaded; nothing existing is locked but for reading (the
fill reads the outcomes and their trades: about a minute at 30 M outcomes). Apply it before the
code that reads the table, as every revision; a date whose outcomes an older loader writes while
it runs gets its rows when that date's feed is rerun.

Revision ID: 0012_counterparty_days
Revises: 0011_analyze_scores_partitions
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from include.markets_ops.services.sql_files import read_sql

revision: str = "0012_counterparty_days"
down_revision: str | None = "0011_analyze_scores_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counterparty_settlement_days",
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("counterparty_id", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("fails", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "reported_on", "counterparty_id", name=op.f("pk_counterparty_settlement_days")
        ),
        schema="ops",
        comment="Per counterparty and reporting date: settlement attempts (a 'failed' or an on-time "
        "'settled' event) and fails, from ops.settlement_outcomes; replaced with each date's outcomes",
    )
    op.execute(read_sql("migrations/0012_fill_counterparty_settlement_days.sql"))


def downgrade() -> None:
    op.drop_table("counterparty_settlement_days", schema="ops")
