-- How each rule's evaluation of %(business_date)s ended.
SELECT rule_id, status, severity, owner, hits, new_alerts, parameters, error, dag_run_id
FROM reporting.alert_rule_runs
WHERE business_date = %(business_date)s
ORDER BY rule_id
