"""ops.feed_loads, and what a shadow comparison read: the nightly comparison skips the dates whose
stored comparison is final instead of recomputing every date of its 30-day lookback.

- ops.feed_loads: the last load of each source's file of a business date that changed the
  warehouse (the feed's loader, in the load's transaction): when, by which run, its rows,
  whether they went in by upsert over rows already loaded (a rerun, or rows re-sent: they may be
  of other dates), and its transaction id (pg_current_xact_id).
- ml.shadow_comparisons.scoring_run_id: the scoring run whose scores the row compared;
  ml.shadow_comparisons.scores_tables: the date's two partitions it compared (their OIDs; each
  swap attaches newly created tables, so a rescoring changes them even under the same run id);
  ml.shadow_comparisons.inputs_snapshot: the snapshot the row's inputs were read in (taken just
  before, as text): a feed load visible in it was in what the row read; one that is not (still
  running then, or later) may not have been.

A date's comparison is final when every trade it scored is realised, it compared the date's
partitions as they are now, and no load of its trades or outcomes may be missing from it
(include/sql/shadow/comparison_is_final.sql); rows written before this revision have none of the
columns and are recomputed once. A new table and three nullable columns: no rewrite, no lock beyond
a moment's on ml.shadow_comparisons. Grants of ops.feed_loads from 0002's default privileges
(writer: read and write; reader: read).

Revision ID: 0013_feed_loads
Revises: 0012_counterparty_days
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_feed_loads"
down_revision: str | None = "0012_counterparty_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_loads",
        sa.Column(
            "source", sa.String(length=64), nullable=False, comment="the file's source, as quarantined"
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("received_rows", sa.BigInteger(), nullable=False),
        sa.Column("loaded_rows", sa.BigInteger(), nullable=False),
        sa.Column("quarantined_rows", sa.BigInteger(), nullable=False),
        sa.Column(
            "upserted",
            sa.Boolean(),
            nullable=False,
            comment="went in by upsert over loaded rows: may have rewritten other dates' rows",
        ),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column(
            "load_xact_id",
            sa.BigInteger(),
            nullable=False,
            comment="the load's transaction (pg_current_xact_id)",
        ),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("source", "business_date", name=op.f("pk_feed_loads")),
        schema="ops",
        comment="Each source's file of a business date as last loaded into the warehouse (merged)",
    )
    op.add_column(
        "shadow_comparisons",
        sa.Column(
            "scoring_run_id",
            sa.String(length=250),
            nullable=True,
            comment="the scoring run whose scores it compared",
        ),
        schema="ml",
    )
    op.add_column(
        "shadow_comparisons",
        sa.Column(
            "scores_tables",
            sa.String(length=32),
            nullable=True,
            comment="the date's two scores partitions it compared (OIDs): each swap attaches new ones",
        ),
        schema="ml",
    )
    op.add_column(
        "shadow_comparisons",
        sa.Column(
            "inputs_snapshot",
            sa.Text(),
            nullable=True,
            comment="the snapshot its inputs were read in: a load not visible in it may be missing",
        ),
        schema="ml",
    )


def downgrade() -> None:
    op.drop_column("shadow_comparisons", "inputs_snapshot", schema="ml")
    op.drop_column("shadow_comparisons", "scores_tables", schema="ml")
    op.drop_column("shadow_comparisons", "scoring_run_id", schema="ml")
    op.drop_table("feed_loads", schema="ops")
