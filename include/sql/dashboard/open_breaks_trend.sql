-- Open breaks per business date over the last N reconciled dates up to the chosen one.
WITH dates AS (
    SELECT DISTINCT business_date
    FROM reporting.recon_breaks
    WHERE business_date <= %(business_date)s
    ORDER BY business_date DESC
    LIMIT %(days)s
)
SELECT d.business_date,
       count(b.trade_ref) FILTER (WHERE b.status = 'open') AS open_breaks,
       count(b.trade_ref) FILTER (WHERE b.status = 'resolved') AS resolved_breaks
FROM dates AS d
LEFT JOIN reporting.recon_breaks AS b USING (business_date)
GROUP BY d.business_date
ORDER BY d.business_date;
