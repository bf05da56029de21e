-- Open reconciliation breaks of the chosen business date by type and age bucket.
SELECT break_type,
       count(*) FILTER (WHERE age_business_days = 0) AS age_new,
       count(*) FILTER (WHERE age_business_days = 1) AS age_1d,
       count(*) FILTER (WHERE age_business_days BETWEEN 2 AND 4) AS age_2_4d,
       count(*) FILTER (WHERE age_business_days >= 5) AS age_5d_plus,
       count(*) AS total,
       coalesce(sum(notional), 0) AS notional
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
  AND status = 'open'
GROUP BY break_type
ORDER BY total DESC, break_type;
