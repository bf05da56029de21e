-- Open breaks of %(business_date)s per counterparty: the ones with the most breaks first.
SELECT
    coalesce(counterparty_id, '(unknown)') AS counterparty_id,
    count(*) AS open_breaks,
    count(*) FILTER (WHERE first_seen_date = %(business_date)s) AS new_breaks,
    max(age_business_days) AS oldest_age_business_days,
    coalesce(sum(notional), 0) AS notional
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
  AND status = 'open'
GROUP BY 1
ORDER BY open_breaks DESC, counterparty_id
