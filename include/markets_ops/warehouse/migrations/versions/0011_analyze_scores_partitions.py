"""ml.analyze_scores_partition(table, date): the swap analyzes the date's new scores table before
it attaches it, so the planner knows its rows from the first query on (a fresh partition without
statistics made the shadow comparison join 15,000 rows in a nested loop, 35-48 s instead of
0.2 s). A new function: nothing existing is locked or changed
(include/sql/migrations/0011_analyze_scores_partition_function.sql).

Revision ID: 0011_analyze_scores_partitions
Revises: 0010_statement_deliveries
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

from include.markets_ops.services.sql_files import read_sql

revision: str = "0011_analyze_scores_partitions"
down_revision: str | None = "0010_statement_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("migrations/0011_analyze_scores_partition_function.sql"))


def downgrade() -> None:
    op.execute("DROP FUNCTION ml.analyze_scores_partition(text, date)")
