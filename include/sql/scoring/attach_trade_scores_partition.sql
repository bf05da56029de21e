-- Index the filled table and attach it as the date's partition of ml.trade_scores, in place of
-- the previous one (and of the date's rows in the default partition). Inside the swap transaction.
SELECT ml.attach_trade_scores_partition(%(business_date)s) AS partition_name
