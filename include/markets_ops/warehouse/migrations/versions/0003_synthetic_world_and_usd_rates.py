"""Indicative USD rates on currencies; the synthetic world's configuration; room for status updates.

- ops.currencies.usd_rate: sizes trades in USD whatever their currency (the fail-risk model's
  trade-size driver, and notional reporting).
- synthetic.simulation_config: the parameters of the seeded synthetic world (seed, epoch,
  volumes, rates), so the feed DAG generates each new day of the same world. Its grants come
  from the default privileges of revision 0002 (upstream_feed only).
- ops.trades fillfactor 70: each trade's status is rewritten once or twice after it is
  loaded; the free space lets those be HOT updates (no write to the four indexes), which
  halved the time of a day's status refresh in the loading benchmark's tests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New pages only: existing rows keep their place until rewritten (VACUUM FULL, CLUSTER).
    op.execute("ALTER TABLE ops.trades SET (fillfactor = 70)")
    op.add_column(
        "currencies",
        sa.Column(
            "usd_rate",
            sa.Numeric(precision=18, scale=8),
            nullable=True,
            comment="indicative USD value of one unit: sizes notionals across currencies",
        ),
        schema="ops",
    )
    op.create_table(
        "simulation_config",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.Date(), nullable=False, comment="first business date with bookings"),
        sa.Column("trades_per_day", sa.BigInteger(), nullable=False),
        sa.Column(
            "parameters",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the full GeneratorConfig",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_simulation_config")),
        schema="synthetic",
        comment="The synthetic world the generator seeded: every day's data is a function of it",
    )


def downgrade() -> None:
    op.execute("ALTER TABLE ops.trades RESET (fillfactor)")
    op.drop_table("simulation_config", schema="synthetic")
    op.drop_column("currencies", "usd_rate", schema="ops")
