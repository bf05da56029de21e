-- This shard's rows of the business date's next partition of ml.trade_scores, deleted by the
-- scoring job before it writes them, in the same transaction: a rerun of one shard replaces
-- its slice instead of duplicating it (the partition's primary key is built only at the swap).
-- A shard's trades are those whose id hashes to it: the very expression of pending_trades.sql
-- (tests/unit/model_pod/test_features.py checks they stay the same), settings read once.
--
-- {scores_table}: ml."trade_scores_pYYYYMMDD_next", derived from the date by the job and
-- checked against that pattern (warehouse.next_partition_identifier); never input.
-- Parameters (set per session with set_config by the job, never formatted into this text):
--   settlement_model.shard_index  this shard, 0 <= index < count
--   settlement_model.shard_count  how many shards split the trades
DELETE FROM {scores_table} AS s
WHERE abs(hashtextextended(s.trade_id, 0) % (SELECT current_setting('settlement_model.shard_count')::int))
    = (SELECT current_setting('settlement_model.shard_index')::int)
