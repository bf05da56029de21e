"""ml.model_promotions: who reviewed a promotion or a rollback, when, and what they said.

A promotion that passes the gate now waits for a person to approve it in the Airflow UI
(include/markets_ops/training/promotion.py). The audit row of the decision that follows records
the answer: review_outcome (approved, rejected, timed_out; not_required where approval was off;
emergency for a rollback carried out without approval, its reason as the comment; NULL where no
person is asked: a gate rejection, a backfill), reviewed_by, reviewed_at, review_comment. A
rollback is approved too now, and one the approver declines is recorded as rollback_refused.

Adding nullable columns without a default only changes the catalogue. The checks are added
validated, in the migration's one transaction: ml.model_promotions holds one row per promotion
decision (tens a year), so the scan takes microseconds under the 5 s lock_timeout, and splitting
NOT VALID and VALIDATE into transactions of their own would only make a failed run harder to
rerun.

Revision ID: 0008_promotion_reviews
Revises: 0007_events_outbox
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_promotion_reviews"
down_revision: str | None = "0007_events_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVIEW_OUTCOMES = "'approved', 'rejected', 'timed_out', 'not_required', 'emergency'"
DECISIONS_BEFORE = "'promoted', 'bootstrapped', 'rejected', 'rolled_back', 'evaluated_only'"
DECISIONS = f"{DECISIONS_BEFORE}, 'rollback_refused'"


SMALL_TABLE = "-- squawk-ignore constraint-missing-not-valid -- tens of rows: validated in microseconds\n"


def _replace_decision_check(decisions: str) -> None:
    """The decision check, widened (or narrowed back): dropped and re-added in the same
    transaction, so no write ever sees the table without one."""
    op.execute(
        "-- squawk-ignore ban-drop-constraint -- re-added under its own name in the same transaction\n"
        "ALTER TABLE ml.model_promotions DROP CONSTRAINT ck_model_promotions_decision"
    )
    op.execute(
        f"{SMALL_TABLE}ALTER TABLE ml.model_promotions ADD CONSTRAINT ck_model_promotions_decision "
        f"CHECK (decision IN ({decisions}))"
    )


def upgrade() -> None:
    op.add_column(
        "model_promotions",
        sa.Column("review_outcome", sa.String(length=16), nullable=True, comment="approved, rejected, "
                  "timed_out, not_required; NULL where no person is asked"),
        schema="ml",
    )  # fmt: skip
    op.add_column(
        "model_promotions",
        sa.Column("reviewed_by", sa.String(length=250), nullable=True, comment="the approver's user name"),
        schema="ml",
    )
    op.add_column(
        "model_promotions",
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True, comment="when they answered"),
        schema="ml",
    )
    op.add_column(
        "model_promotions",
        sa.Column("review_comment", sa.Text(), nullable=True, comment="the approver's comment"),
        schema="ml",
    )
    op.execute(
        f"{SMALL_TABLE}ALTER TABLE ml.model_promotions ADD CONSTRAINT ck_model_promotions_review_outcome "
        f"CHECK (review_outcome IN ({REVIEW_OUTCOMES}))"
    )
    _replace_decision_check(DECISIONS)


def downgrade() -> None:
    _replace_decision_check(DECISIONS_BEFORE)
    op.drop_constraint("ck_model_promotions_review_outcome", "model_promotions", schema="ml")
    for column in ("review_comment", "reviewed_at", "reviewed_by", "review_outcome"):
        op.drop_column("model_promotions", column, schema="ml")
