"""events: the outbox of the operations events (task failures, missed deadlines), so that an event
raised while Kafka is down is delivered once it is back.

- events.outbox: one row per event, unique by (topic, event_key): the Airflow callbacks store
  the event here before anything else, so a callback fired twice stores one row.
- events.outbox_deliveries: one row per event acknowledged by Kafka (by the callback's own
  immediate publish, or by the relay afterwards). An event without a delivery is pending.
  Delivering is recorded by an insert, not an update, so both tables are append-only and the
  callbacks' role needs no right to change or read a row.

Grants (least privilege; a new schema, so 0002's default privileges do not apply):
- ops_events_writer (the callbacks, in every worker and the triggerer): INSERT only, on the
  columns it fills; it can neither read nor change nor delete an event.
- warehouse_writer (the relay, a DAG task): reads both tables, records deliveries; it cannot
  change or delete an event either.
- reporting_reader: reads both (the night shift sees what is pending).
Nobody but the owner may delete: pruning old delivered events is a DBA's job (docs/operations.md).

The role ops_events_writer is a cluster object provisioned outside migrations, like the others
(locally by `make up`, in production by the DBA team).

Revision ID: 0007_events_outbox
Revises: 0006_trades_scoring_order
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_events_outbox"
down_revision: str | None = "0006_trades_scoring_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "events"

GRANTS = """
GRANT USAGE ON SCHEMA events TO ops_events_writer, warehouse_writer, reporting_reader;
GRANT INSERT (topic, event_key, event_type, payload) ON events.outbox TO ops_events_writer;
GRANT INSERT (topic, event_key, delivered_by) ON events.outbox_deliveries TO ops_events_writer;
GRANT SELECT ON events.outbox, events.outbox_deliveries TO warehouse_writer, reporting_reader;
GRANT INSERT (topic, event_key, delivered_by) ON events.outbox_deliveries TO warehouse_writer;
"""


def upgrade() -> None:
    # Creating two new, empty tables takes no lock on an existing table: nothing to wait for.
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.execute(sa.schema.CreateSchema(SCHEMA, if_not_exists=True))
    op.create_table(
        "outbox",
        sa.Column("event_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False, comment="the Kafka topic it goes to"),
        sa.Column(
            "event_key",
            sa.String(length=1000),
            nullable=False,
            comment="the Kafka key: stable per event (dag, run, task, map index, try; or dag, run, deadline)",
        ),
        sa.Column("event_type", sa.String(length=64), nullable=False, comment="task_failed, deadline_missed"),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("topic", "event_key", name=op.f("uq_outbox_topic_event_key")),
        schema=SCHEMA,
        comment="Operations events as raised by the Airflow callbacks, one per key; pending until a "
        "row in outbox_deliveries says Kafka acknowledged it",
    )
    op.create_table(
        "outbox_deliveries",
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("event_key", sa.String(length=1000), nullable=False),
        sa.Column("delivered_by", sa.String(length=16), nullable=False, comment="callback or relay"),
        sa.Column(
            "delivered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "delivered_by IN ('callback', 'relay')", name=op.f("ck_outbox_deliveries_delivered_by")
        ),
        sa.ForeignKeyConstraint(
            ["topic", "event_key"],
            ["events.outbox.topic", "events.outbox.event_key"],
            name=op.f("fk_outbox_deliveries_topic_outbox"),
        ),
        sa.PrimaryKeyConstraint("topic", "event_key", name=op.f("pk_outbox_deliveries")),
        schema=SCHEMA,
        comment="Kafka acknowledgements of the outbox's events: one row per delivered event",
    )
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.drop_table("outbox_deliveries", schema=SCHEMA)
    op.drop_table("outbox", schema=SCHEMA)
    op.execute(sa.schema.DropSchema(SCHEMA, if_exists=True))
