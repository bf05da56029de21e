-- The rule's latest successful run before %(business_date)s, not before %(earliest_previous)s:
-- a hit that was already raised then is a condition still open, not a new alert. After a
-- longer gap (an outage) the condition is raised again.
SELECT max(business_date) AS previous_run_date
FROM reporting.alert_rule_runs
WHERE rule_id = %(rule_id)s
  AND status = 'succeeded'
  AND business_date < %(business_date)s
  AND business_date >= %(earliest_previous)s
