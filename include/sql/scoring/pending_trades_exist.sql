-- Whether any trade is pending at the end of the business date: booked on or before it (within
-- the 31 days a pending trade can be old), contractual settle date after it, not cancelled.
-- The same definition as the scoring job's model_pod/settlement_model/sql/pending_trades.sql
-- (keep them together; tests/integration/model/test_scoring_pipeline.py checks a date with
-- pending trades and one without). The swap asks only when the date's new partition is empty:
-- an empty day is legitimate only without pending trades. Stops at the first row found (EXISTS):
-- where trades are pending the planner rightly scans until the first one (the seeded index test
-- warehouse gets a sequential scan of a few pages); the business_date range is the leading column
-- of ix_trades_business_date_trade_id for the planner to use otherwise.
SELECT EXISTS (
    SELECT
    FROM ops.trades AS t
    WHERE t.business_date <= %(business_date)s
        AND t.business_date > %(business_date)s::date - 31
        AND t.settle_date > %(business_date)s
        AND t.status <> 'cancelled'
) AS pending
