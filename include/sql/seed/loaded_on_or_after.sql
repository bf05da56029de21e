-- Whether any daily row is loaded on or after a date: a bulk seed only appends after the
-- history already loaded (see synthetic/bulk.py); otherwise the days go through the loader.
SELECT
    EXISTS (SELECT FROM ops.trades WHERE business_date >= $1)
    OR EXISTS (SELECT FROM ops.custodian_confirmations WHERE business_date >= $1)
    OR EXISTS (SELECT FROM ops.settlement_outcomes WHERE business_date >= $1)
