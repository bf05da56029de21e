-- The custodians whose statement of the date is loaded (the date is complete with all of them).
SELECT custodian
FROM ops.statement_deliveries
WHERE business_date = %(business_date)s
ORDER BY custodian
