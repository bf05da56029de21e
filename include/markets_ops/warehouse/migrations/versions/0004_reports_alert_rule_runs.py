"""Reporting: the alert rules' run record, and the index on failed settlements.

- reporting.alert_rule_runs: one row per (rule, business date), the rule's last evaluation
  (hits, new alerts, bound parameters, or the error). It tells which previous run an alert is
  compared with (is_new / first_raised_date) and lets the nightly summary name failed rules.
  Its grants come from the default privileges of 0002 (writer: read/write, reader: read).
- ops.settlement_outcomes: partial indexes on the fails and on the late settlements that
  follow them. Reconciliation finds the trades still open after a fail (fails minus late
  settlements), and the fail-spike alert counts fails per day, without reading the settled
  history (fails are a few percent of the outcomes). Built CONCURRENTLY: the table exists
  and the pipelines write to it while the migration runs.

Revision ID: 0004_reports
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from include.markets_ops.warehouse.concurrent_indexes import (
    create_index_concurrently,
    drop_index_concurrently,
)

revision: str = "0004_reports"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ops.settlement_outcomes exists and grows every night: its indexes are built CONCURRENTLY,
    # outside the transaction, first, so that a retry after a failed build finds the table
    # below not yet created (concurrent_indexes.py). alert_rule_runs is new: nothing to block.
    create_index_concurrently(
        "ix_settlement_outcomes_failed_business_date",
        "settlement_outcomes",
        ["business_date", "trade_id"],
        schema="ops",
        postgresql_where=sa.text("outcome = 'failed'"),
    )
    create_index_concurrently(
        "ix_settlement_outcomes_late_business_date",
        "settlement_outcomes",
        ["business_date", "trade_id"],
        schema="ops",
        postgresql_where=sa.text("outcome = 'settled' AND days_late > 0"),
    )
    op.create_table(
        "alert_rule_runs",
        sa.Column("rule_id", sa.String(length=64), nullable=False, comment="the rule file's name"),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("hits", sa.BigInteger(), nullable=True, comment="rows the rule returned"),
        sa.Column(
            "new_alerts", sa.BigInteger(), nullable=True, comment="hits not raised on the previous run"
        ),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('succeeded', 'failed')", name=op.f("ck_alert_rule_runs_status")),
        sa.PrimaryKeyConstraint("rule_id", "business_date", name=op.f("pk_alert_rule_runs")),
        schema="reporting",
        comment="The last evaluation of each SQL alert rule per business date: what it found or why it failed, and the parameter values it was bound with",
    )


def downgrade() -> None:
    drop_index_concurrently("ix_settlement_outcomes_late_business_date", "settlement_outcomes", schema="ops")
    drop_index_concurrently(
        "ix_settlement_outcomes_failed_business_date", "settlement_outcomes", schema="ops"
    )
    op.drop_table("alert_rule_runs", schema="reporting")
