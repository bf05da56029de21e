-- Index the filled table and attach it as the date's partition of ml.trade_scores or
-- ml.shadow_scores, in place of the previous one (and of the date's rows in the default
-- partition). Inside the swap transaction.
SELECT ml.attach_scores_partition(%(scores_table)s, %(business_date)s) AS partition_name
