"""ops.statement_deliveries and ops.statement_messages: the custodians' statements as loaded, and
every statement-ready message as handled.

The custodians announce their statements one by one on Kafka (``ops.custodian.statements``); the
``custodian_statements`` DAG loads each into ``ops.custodian_confirmations`` (that custodian's rows
of the date only) and records here, in the same transaction, what it loaded: the file's sha256,
its rows, the message's partition and offset. A message announcing the same file again finds its
sha256 here and loads nothing; the date is complete when every custodian has a row.

ops.statement_messages records what became of each message (loaded, duplicate, superseded,
quarantined), keyed by its partition and offset: a run handles the messages of its asset events
and any recent one no run has handled yet (Airflow can fold an event that arrives while the
previous one's run is being created into no run at all), each exactly once.

New tables: no lock on anything existing. Grants from 0002's default privileges on ops
(writer: read and write; reader: read).

Revision ID: 0010_statement_deliveries
Revises: 0009_shadow_scores
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_statement_deliveries"
down_revision: str | None = "0009_shadow_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statement_deliveries",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("custodian", sa.String(length=24), nullable=False, comment="the custodian's code"),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column(
            "sha256",
            sa.String(length=64),
            nullable=False,
            comment="of the file's bytes, as the message announced",
        ),
        sa.Column("announced_rows", sa.BigInteger(), nullable=False),
        sa.Column("loaded_rows", sa.BigInteger(), nullable=False),
        sa.Column("quarantined_rows", sa.BigInteger(), nullable=False),
        sa.Column("kafka_partition", sa.BigInteger(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "custodian", name=op.f("pk_statement_deliveries")),
        schema="ops",
        comment="Each custodian's statement of a business date as last loaded from its statement-ready "
        "message: a message announcing the same file again (same sha256) loads nothing",
    )

    op.create_table(
        "statement_messages",
        sa.Column("kafka_partition", sa.BigInteger(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("message_key", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('loaded', 'duplicate', 'superseded', 'quarantined')",
            name=op.f("ck_statement_messages_outcome"),
        ),
        sa.PrimaryKeyConstraint("kafka_partition", "kafka_offset", name=op.f("pk_statement_messages")),
        schema="ops",
        comment="Every statement-ready message as handled: what became of it, in which run",
    )


def downgrade() -> None:
    op.drop_table("statement_messages", schema="ops")
    op.drop_table("statement_deliveries", schema="ops")
