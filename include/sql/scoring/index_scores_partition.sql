-- One of the two indexes of the date's new scores table ('primary_key' or 'trade_id'), before
-- the swap's transaction; the swap builds both at once, each on its own connection (migration 0014).
SELECT ml.index_scores_partition(%(scores_table)s, %(business_date)s, %(index_kind)s) AS index_name
