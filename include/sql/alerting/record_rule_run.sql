-- The rule's run record for the date: the last evaluation wins (a rerun replaces it).
INSERT INTO reporting.alert_rule_runs (
    rule_id, business_date, status, severity, owner, hits, new_alerts, parameters, error, dag_run_id, finished_at
)
VALUES (
    %(rule_id)s, %(business_date)s, %(status)s, %(severity)s, %(owner)s, %(hits)s, %(new_alerts)s,
    %(parameters)s, %(error)s, %(dag_run_id)s, now()
)
ON CONFLICT (rule_id, business_date) DO UPDATE
SET status = excluded.status,
    severity = excluded.severity,
    owner = excluded.owner,
    hits = excluded.hits,
    new_alerts = excluded.new_alerts,
    parameters = excluded.parameters,
    error = excluded.error,
    dag_run_id = excluded.dag_run_id,
    finished_at = excluded.finished_at
