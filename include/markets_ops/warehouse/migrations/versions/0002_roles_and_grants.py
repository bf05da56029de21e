"""Least-privilege grants for the pipeline, reporting and upstream-simulator roles.

- warehouse_writer (the pipelines): read and write ops, ml, reporting; create its own work
  tables in staging; nothing on synthetic.
- reporting_reader (reports, alerts, dashboard): read ops, ml, reporting; nothing else.
- upstream_feed (the synthetic upstream systems): read and write synthetic only.
Default privileges make tables of later migrations follow the same rules.

The roles themselves are cluster objects provisioned outside migrations (locally by
`make up`, in production by the DBA team).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PIPELINE_SCHEMAS = "ops, ml, reporting"

GRANTS = f"""
GRANT USAGE ON SCHEMA {PIPELINE_SCHEMAS}, staging TO warehouse_writer;
GRANT CREATE ON SCHEMA staging TO warehouse_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {PIPELINE_SCHEMAS} TO warehouse_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {PIPELINE_SCHEMAS} TO warehouse_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA {PIPELINE_SCHEMAS}
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO warehouse_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA {PIPELINE_SCHEMAS} GRANT USAGE, SELECT ON SEQUENCES TO warehouse_writer;

GRANT USAGE ON SCHEMA {PIPELINE_SCHEMAS} TO reporting_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA {PIPELINE_SCHEMAS} TO reporting_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA {PIPELINE_SCHEMAS} GRANT SELECT ON TABLES TO reporting_reader;

GRANT USAGE ON SCHEMA synthetic TO upstream_feed;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA synthetic TO upstream_feed;
ALTER DEFAULT PRIVILEGES IN SCHEMA synthetic GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO upstream_feed;
"""

REVOKES = f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA synthetic REVOKE ALL ON TABLES FROM upstream_feed;
REVOKE ALL ON ALL TABLES IN SCHEMA synthetic FROM upstream_feed;
REVOKE ALL ON SCHEMA synthetic FROM upstream_feed;

ALTER DEFAULT PRIVILEGES IN SCHEMA {PIPELINE_SCHEMAS} REVOKE ALL ON TABLES FROM reporting_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA {PIPELINE_SCHEMAS} FROM reporting_reader;
REVOKE ALL ON SCHEMA {PIPELINE_SCHEMAS} FROM reporting_reader;

ALTER DEFAULT PRIVILEGES IN SCHEMA {PIPELINE_SCHEMAS} REVOKE ALL ON SEQUENCES FROM warehouse_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA {PIPELINE_SCHEMAS} REVOKE ALL ON TABLES FROM warehouse_writer;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {PIPELINE_SCHEMAS} FROM warehouse_writer;
REVOKE ALL ON ALL TABLES IN SCHEMA {PIPELINE_SCHEMAS} FROM warehouse_writer;
REVOKE ALL ON SCHEMA {PIPELINE_SCHEMAS}, staging FROM warehouse_writer;
"""


def upgrade() -> None:
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(REVOKES)
