"""ml.index_scores_partition(table, date, index): the swap builds the date's new scores table's
two indexes side by side, each on its own connection, before its transaction (0.41-0.45 s
instead of 0.82 s for a million scores); ml.attach_scores_partition makes the primary key from
the unique index it finds and builds only what is missing. A new function and a function
replaced: no table is locked or changed (include/sql/migrations/0014_index_scores_partition_function.sql).

Revision ID: 0014_index_scores_partitions
Revises: 0013_feed_loads
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from include.markets_ops.services.sql_files import read_sql

revision: str = "0014_index_scores_partitions"
down_revision: str | None = "0013_feed_loads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("migrations/0014_index_scores_partition_function.sql"))


def downgrade() -> None:
    op.execute("DROP FUNCTION ml.index_scores_partition(text, date, text)")
    # 0009's attach_scores_partition back: its file creates both of its functions.
    op.execute("DROP FUNCTION ml.attach_scores_partition(text, date)")
    op.execute("DROP FUNCTION ml.prepare_scores_partition(text, date)")
    op.execute(read_sql("migrations/0009_scores_partition_functions.sql"))
