-- Open breaks per business date and break type from %(first_date)s to %(business_date)s, for the
-- report's chart (dates with no row had no open break or were not reconciled).
SELECT business_date, break_type, count(*) AS open_breaks
FROM reporting.recon_breaks
WHERE business_date BETWEEN %(first_date)s AND %(business_date)s
  AND status = 'open'
GROUP BY business_date, break_type
ORDER BY business_date, break_type
