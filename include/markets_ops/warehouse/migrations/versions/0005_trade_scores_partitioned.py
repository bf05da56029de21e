"""ml.trade_scores partitioned by business date, and the functions the scoring swap attaches with.

Why: the scoring swap replaced a date with DELETE + INSERT into the indexed table, 14-18 s for
a million scores. Now the swap builds the date's partition on its own (rows, then indexes) and
attaches it in place of the previous one: the same single transaction, a fraction of the time,
and no dead rows left behind in the big table.

- ml.trade_scores: PARTITION BY LIST (business_date); same columns, primary key, trade_id
  index, check constraints, comment and grants (the schema's default privileges of 0002).
- One partition per business date, ml.trade_scores_pYYYYMMDD (existing rows move there), and a
  DEFAULT partition, ml.trade_scores_default, for rows written straight into the table (tests,
  fixtures, benchmarks); the swap removes the date's rows from it before attaching.
- ml.prepare_trade_scores_partition / ml.attach_trade_scores_partition: SECURITY DEFINER,
  owned by the migrating (owner) role, EXECUTE for warehouse_writer only
  (include/sql/migrations/0005_trade_scores_partition_functions.sql).

Downgrade: the plain table again, with every row.

Revision ID: 0005_partitions
Revises: 0004_reports
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from include.markets_ops.services.sql_files import read_sql

revision: str = "0005_partitions"
down_revision: str | None = "0004_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOVE_ROWS = """
    INSERT INTO ml.trade_scores
        (business_date, trade_id, model_name, model_version, score, risk_band, scoring_run_id, scored_at)
    SELECT business_date, trade_id, model_name, model_version, score, risk_band, scoring_run_id, scored_at
    FROM ml.trade_scores_before_0005
"""
COMMENT = "Nightly settlement-fail risk scores of pending trades"


def _create_trade_scores(partition_by: str | None = None) -> None:
    """ml.trade_scores as 0001 made it, partitioned if asked."""
    partitioning: dict[str, Any] = {"postgresql_partition_by": partition_by} if partition_by else {}
    op.create_table(
        "trade_scores",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trade_id", sa.String(length=24), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("risk_band", sa.String(length=8), nullable=False),
        sa.Column("scoring_run_id", sa.String(length=250), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("risk_band IN ('low', 'medium', 'high')", name=op.f("ck_trade_scores_risk_band")),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_trade_scores_score_is_probability")),
        sa.PrimaryKeyConstraint("business_date", "trade_id", name=op.f("pk_trade_scores")),
        schema="ml",
        comment=COMMENT,
        **partitioning,
    )
    op.create_index(op.f("ix_trade_scores_trade_id"), "trade_scores", ["trade_id"], unique=False, schema="ml")


def _lint_exempt(rule: str, statement: str) -> str:
    """The statement with a squawk (make lint) exemption from one rule: squawk flags renames and
    drops as breaking clients, but here a new table takes the old one's name in the same
    transaction, so clients see one table or the other, never neither."""
    return f"-- squawk-ignore {rule} -- replaced under its own name in one transaction\n{statement}"


def _set_aside_trade_scores() -> None:
    """Rename the current table and its indexes (index names are unique per schema)."""
    op.execute(
        _lint_exempt("renaming-table", "ALTER TABLE ml.trade_scores RENAME TO trade_scores_before_0005")
    )
    op.execute(
        _lint_exempt(
            "renaming-object", "ALTER INDEX ml.pk_trade_scores RENAME TO trade_scores_before_0005_pkey"
        )
    )
    op.execute(
        _lint_exempt(
            "renaming-object",
            "ALTER INDEX ml.ix_trade_scores_trade_id RENAME TO trade_scores_before_0005_trade_id_idx",
        )
    )


def upgrade() -> None:
    _set_aside_trade_scores()
    # A new table: its index is plain, inside this revision's transaction.
    _create_trade_scores(partition_by="LIST (business_date)")
    op.execute("CREATE TABLE ml.trade_scores_default PARTITION OF ml.trade_scores DEFAULT")
    # One partition per business date already scored (dates come from the table, not from input).
    op.execute(
        """
        DO $$
        DECLARE day date;
        BEGIN
            FOR day IN SELECT DISTINCT business_date FROM ml.trade_scores_before_0005 ORDER BY 1 LOOP
                EXECUTE format(
                    'CREATE TABLE ml.%I PARTITION OF ml.trade_scores FOR VALUES IN (%L)',
                    'trade_scores_p' || to_char(day, 'YYYYMMDD'), day
                );
            END LOOP;
        END
        $$
        """
    )
    op.execute(MOVE_ROWS)
    op.execute(_lint_exempt("ban-drop-table", "DROP TABLE ml.trade_scores_before_0005"))  # rows moved
    op.execute(read_sql("migrations/0005_trade_scores_partition_functions.sql"))


def downgrade() -> None:
    op.execute("DROP FUNCTION ml.attach_trade_scores_partition(date)")
    op.execute("DROP FUNCTION ml.prepare_trade_scores_partition(date)")
    _set_aside_trade_scores()
    _create_trade_scores()
    op.execute(MOVE_ROWS)
    op.execute("DROP TABLE ml.trade_scores_before_0005")  # and its partitions
