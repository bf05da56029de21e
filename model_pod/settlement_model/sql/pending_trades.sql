-- The trades pending at the end of each as-of date D, one row per (D, trade): booked on or
-- before D (business_date <= D), contractual settle date after D, not cancelled. Only the
-- trade's own columns: the reference data and the counterparties' history are small and
-- are joined in the job (features.py), so this is one streamed scan of ops.trades.
--
-- Parameters (set per session with set_config by the job, never formatted into this text):
--   settlement_model.as_of_dates  a date[] literal, e.g. {2026-11-20} (scoring: one date)
--   settlement_model.shard_index  this shard, 0 <= index < count
--   settlement_model.shard_count  how many shards split the trades (1 = all)
-- A trade's shard is a hash of its id, so a rerun puts it in the same shard: PostgreSQL's own
-- text hash (the one hash partitioning uses), a third of md5's cost, which every shard pays
-- on every pending trade of the date. The shard settings are read in scalar subqueries, which
-- run once per query (InitPlans); read directly, current_setting and the cast to int ran for
-- every row: a fifth of the scan's time.
SELECT
    d.as_of_date,
    t.trade_id::text AS trade_id,
    t.business_date,
    t.trade_date,
    t.settle_date,
    t.instrument_id::text AS instrument_id,
    t.counterparty_id::text AS counterparty_id,
    t.side::text AS side,
    t.desk::text AS desk,
    t.currency::text AS currency,
    t.settlement_location::text AS settlement_location,
    t.ssi_status::text AS ssi_status,
    t.notional::float8 AS notional,
    t.booked_at,
    t.confirmed_at,
    t.allocated_at
FROM unnest(current_setting('settlement_model.as_of_dates')::date[]) AS d (as_of_date)
JOIN ops.trades AS t
    ON t.business_date <= d.as_of_date
    -- Settlement cycles are at most T+5 business days (ops.instruments check), so a trade
    -- booked more than 31 days before D has settled: the bound lets the scan use the
    -- business_date index.
    AND t.business_date > d.as_of_date - 31
    AND t.settle_date > d.as_of_date
WHERE t.status <> 'cancelled'
    -- The same window over all the dates at once (the first and the last: the dates come
    -- sorted), as plain expressions: the range the index scan reads when the trades drive the
    -- join, as they do when scoring reads them in index order (below).
    AND t.business_date > (current_setting('settlement_model.as_of_dates')::date[])[1] - 31
    AND t.business_date <= (current_setting('settlement_model.as_of_dates')::date[])[
        array_upper(current_setting('settlement_model.as_of_dates')::date[], 1)
    ]
    AND abs(hashtextextended(t.trade_id, 0) % (SELECT current_setting('settlement_model.shard_count')::int))
        = (SELECT current_setting('settlement_model.shard_index')::int)
-- A stable order: the same rows always give the same Parquet bytes and messages. It is the
-- order of the index ix_trades_business_date_trade_id (trade ids in byte order, "C"), so the
-- scoring job, which disables sorting for this statement (warehouse.read_in_index_order), gets
-- its rows streamed from the index as the scan finds them instead of after a sort of every
-- pending trade. The order is total for one as-of date (scoring); the training set, which
-- reads several, orders its own rows.
ORDER BY t.business_date, t.trade_id COLLATE "C"
