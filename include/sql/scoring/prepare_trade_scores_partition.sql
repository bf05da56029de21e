-- An empty table for the date's new partition (no indexes yet; owned by the owner role, see
-- include/sql/migrations/0005_trade_scores_partition_functions.sql). Returns its name in ml.
SELECT ml.prepare_trade_scores_partition(%(business_date)s) AS table_name
