"""ml.shadow_scores and ml.shadow_comparisons: the challenger scored beside the champion, and how
the two compare once the trades' outcomes are known.

- ml.shadow_scores: the challenger's score of every pending trade of a business date, written by
  the same scoring run as the champion's ml.trade_scores (never into it, nor into its S3 files or
  Kafka topic). Partitioned by business date like ml.trade_scores, with a DEFAULT partition, and
  swapped in the same transaction as the champion's partition, so readers see both or neither.
- ml.shadow_comparisons: one row per business date and (champion, challenger) pair: on the
  trades both scored whose outcome is known, ROC AUC, PR AUC, Brier score and calibration error of
  each model. Recomputed each night as outcomes arrive; the promotion gate reads it.
- ml.prepare_scores_partition / ml.attach_scores_partition (table, date) replace 0005's two
  functions, which knew only ml.trade_scores
  (include/sql/migrations/0009_scores_partition_functions.sql).

New tables in ml get their grants from 0002's default privileges (writer: read and write;
reader: read).

Revision ID: 0009_shadow_scores
Revises: 0008_promotion_reviews
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from include.markets_ops.services.sql_files import read_sql

revision: str = "0009_shadow_scores"
down_revision: str | None = "0008_promotion_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRICS = ("roc_auc", "pr_auc", "brier", "calibration_error")
REPLACED = "-- squawk-ignore ban-drop-function -- replaced by ml.*_scores_partition(table, date)\n"


def _create_shadow_scores() -> None:
    op.create_table(
        "shadow_scores",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trade_id", sa.String(length=24), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("scoring_run_id", sa.String(length=250), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_shadow_scores_score_is_probability")),
        sa.PrimaryKeyConstraint("business_date", "trade_id", name=op.f("pk_shadow_scores")),
        schema="ml",
        comment="The challenger's scores of pending trades, beside the champion's (shadow scoring)",
        postgresql_partition_by="LIST (business_date)",
    )
    op.create_index(
        op.f("ix_shadow_scores_trade_id"), "shadow_scores", ["trade_id"], unique=False, schema="ml"
    )
    op.execute("CREATE TABLE ml.shadow_scores_default PARTITION OF ml.shadow_scores DEFAULT")


def _create_shadow_comparisons() -> None:
    metric_columns: list[sa.Column[float]] = [
        sa.Column(f"{model}_{metric}", sa.Double(), nullable=True)
        for metric in METRICS
        for model in ("champion", "challenger")
    ]
    op.create_table(
        "shadow_comparisons",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("champion_version", sa.String(length=16), nullable=False),
        sa.Column("challenger_version", sa.String(length=16), nullable=False),
        sa.Column("scored_trades", sa.BigInteger(), nullable=False, comment="trades both models scored"),
        sa.Column("realised_trades", sa.BigInteger(), nullable=False, comment="of them, outcome known"),
        sa.Column("fails", sa.BigInteger(), nullable=False, comment="of them, failed to settle on time"),
        *metric_columns,
        sa.Column(
            "outcomes_known_by", sa.Date(), nullable=False, comment="the outcomes read: up to this date"
        ),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "realised_trades <= scored_trades AND fails <= realised_trades AND fails >= 0",
            name=op.f("ck_shadow_comparisons_counts"),
        ),
        sa.PrimaryKeyConstraint(
            "business_date", "model_name", "challenger_version", name=op.f("pk_shadow_comparisons")
        ),
        schema="ml",
        comment="Champion and challenger on the same trades of a date, once outcomes are known",
    )
    # The gate's question: the challenger's comparisons, latest first.
    op.create_index(
        op.f("ix_shadow_comparisons_model_name_challenger_version_business_date"),
        "shadow_comparisons",
        ["model_name", "challenger_version", "business_date"],
        unique=False,
        schema="ml",
    )


def upgrade() -> None:
    _create_shadow_scores()
    _create_shadow_comparisons()
    op.execute(read_sql("migrations/0009_scores_partition_functions.sql"))
    # Replaced by the two above in this transaction; the code that calls them is deployed with
    # this migration (a scoring run started before it fails its swap and is rerun).
    op.execute(f"{REPLACED}DROP FUNCTION ml.attach_trade_scores_partition(date)")
    op.execute(f"{REPLACED}DROP FUNCTION ml.prepare_trade_scores_partition(date)")


def downgrade() -> None:
    op.execute("DROP FUNCTION ml.attach_scores_partition(text, date)")
    op.execute("DROP FUNCTION ml.prepare_scores_partition(text, date)")
    op.execute(read_sql("migrations/0005_trade_scores_partition_functions.sql"))
    op.drop_table("shadow_comparisons", schema="ml")
    op.execute("DROP TABLE ml.shadow_scores")  # and its partitions
