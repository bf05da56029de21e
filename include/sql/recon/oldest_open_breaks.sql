-- The %(limit)s oldest breaks open on %(business_date)s, for the report's list.
SELECT
    trade_ref, break_type, counterparty_id, first_seen_date, age_business_days,
    internal_value, custodian_value, notional
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
  AND status = 'open'
ORDER BY age_business_days DESC, first_seen_date, trade_ref, break_type
LIMIT %(limit)s
