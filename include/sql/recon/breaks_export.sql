-- Every break row of %(business_date)s (open and resolved that day), in a stable order so the
-- exported files are the same bytes on a rerun.
SELECT
    business_date, trade_ref, break_type, status, first_seen_date, age_business_days, resolved_date,
    counterparty_id, instrument_id, internal_value, custodian_value, notional
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
ORDER BY status, break_type, trade_ref
