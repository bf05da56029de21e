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
    -- The as-of dates on which the trade is pending, found in the sorted dates by binary search
    -- (width_bucket counts the dates up to a value): from the first on or after its booking to the
    -- last before its settle date, and within 31 days of its booking (settlement cycles are at
    -- most T+5 business days, ops.instruments check: a trade booked longer ago has settled). One
    -- scan of the trades gives every (date, trade) pair without comparing each trade with each
    -- date: with the 42 dates of a training window, those comparisons cost more than the scan.
    -- A set-returning function here, in the select list, gives a row per date without the
    -- function scan a LATERAL join would restart for every trade (a tenth of the read's time:
    -- no row when the range is empty, as in the join). The dates are read once per query
    -- (scalar subqueries: InitPlans); read directly, current_setting and the array's cast ran
    -- for every trade. With one as-of date (scoring), features.pending_trades_sql puts that date
    -- in place of this search (between the markers).
    /* each trade's as-of dates */
    (SELECT current_setting('settlement_model.as_of_dates')::date[])[
        generate_series(
            width_bucket(t.business_date - 1, (SELECT current_setting('settlement_model.as_of_dates')::date[])) + 1,
            least(
                width_bucket(t.settle_date - 1, (SELECT current_setting('settlement_model.as_of_dates')::date[])),
                width_bucket(t.business_date + 30, (SELECT current_setting('settlement_model.as_of_dates')::date[]))
            )
        )
    ]
    /* end of each trade's as-of dates */ AS as_of_date,
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
FROM ops.trades AS t
WHERE t.status <> 'cancelled'
    -- The window of all the dates (the first and the last: the dates come sorted): the range
    -- the index scan reads, in the order of the ORDER BY when one date is scored.
    AND t.business_date > (SELECT (current_setting('settlement_model.as_of_dates')::date[])[1] - 31)
    AND t.business_date <= (
        SELECT (current_setting('settlement_model.as_of_dates')::date[])[
            array_upper(current_setting('settlement_model.as_of_dates')::date[], 1)
        ]
    )
    -- Pending on no date, as most trades of the window are when one date is scored: filtered
    -- out here, before the dates are looked for.
    AND t.settle_date > (SELECT (current_setting('settlement_model.as_of_dates')::date[])[1])
    AND abs(hashtextextended(t.trade_id, 0) % (SELECT current_setting('settlement_model.shard_count')::int))
        = (SELECT current_setting('settlement_model.shard_index')::int)
-- A stable order: the same rows always give the same Parquet bytes and messages. It is the
-- order of the index ix_trades_business_date_trade_id (trade ids in byte order, "C"), so the
-- scoring job, which disables sorting for this statement (warehouse.read_in_index_order), gets
-- its rows streamed from the index as the scan finds them instead of after a sort of every
-- pending trade. The order is total for one as-of date (scoring); the training set, which
-- reads several, orders its own rows.
ORDER BY t.business_date, t.trade_id COLLATE "C"
