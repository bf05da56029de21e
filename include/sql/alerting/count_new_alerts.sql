SELECT count(*) FILTER (WHERE is_new) AS new_alerts
FROM reporting.alerts
WHERE rule_id = %(rule_id)s
  AND business_date = %(business_date)s
