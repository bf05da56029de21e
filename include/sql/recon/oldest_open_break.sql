-- The oldest break still open on %(business_date)s (ties: the earliest seen, then by reference).
SELECT trade_ref, break_type, first_seen_date, age_business_days, counterparty_id
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
  AND status = 'open'
ORDER BY age_business_days DESC, first_seen_date, trade_ref, break_type
LIMIT 1
