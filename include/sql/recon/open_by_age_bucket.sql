-- Open breaks of %(business_date)s by age in business days: 0 (new), 1, 2-4, 5-9, 10 and more.
SELECT
    CASE
        WHEN age_business_days = 0 THEN '0 (new)'
        WHEN age_business_days = 1 THEN '1'
        WHEN age_business_days <= 4 THEN '2-4'
        WHEN age_business_days <= 9 THEN '5-9'
        ELSE '10+'
    END AS age_bucket,
    min(age_business_days) AS bucket_order,
    count(*) AS open_breaks,
    coalesce(sum(notional), 0) AS notional
FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
  AND status = 'open'
GROUP BY 1
ORDER BY bucket_order
