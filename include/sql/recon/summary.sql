-- What reconciliation of %(business_date)s found: counts per break type and status, and how
-- many breaks appeared that day.
SELECT
    break_type,
    count(*) FILTER (WHERE status = 'open') AS open_breaks,
    count(*) FILTER (WHERE status = 'open' AND first_seen_date = %(business_date)s) AS new_breaks,
    count(*) FILTER (WHERE status = 'resolved') AS resolved_breaks
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
GROUP BY break_type
ORDER BY break_type
