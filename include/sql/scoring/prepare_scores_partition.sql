-- An empty table for the date's new partition of ml.trade_scores or ml.shadow_scores (no indexes
-- yet; owned by the owner role, see include/sql/migrations/0009_scores_partition_functions.sql).
-- Returns its name in ml.
SELECT ml.prepare_scores_partition(%(scores_table)s, %(business_date)s) AS table_name
