-- Merge the rule's hits (the staging work table) into reporting.alerts for (rule, date): one row
-- per entity. A hit raised on the rule's previous run keeps its first_raised_date and is not
-- new; a rerun updates the same rows in place (alert_id and raised_at stay).
INSERT INTO reporting.alerts AS a (
    rule_id, business_date, entity_key, severity, details, first_raised_date, is_new
)
SELECT
    %(rule_id)s,
    %(business_date)s,
    h.entity_key,
    %(severity)s,
    h.details,
    coalesce(p.first_raised_date, %(business_date)s),
    p.entity_key IS NULL
FROM {hits} AS h
LEFT JOIN reporting.alerts AS p
    ON p.rule_id = %(rule_id)s
   AND p.business_date = %(previous_run_date)s
   AND p.entity_key = h.entity_key
ON CONFLICT (rule_id, business_date, entity_key) DO UPDATE
SET severity = excluded.severity,
    details = excluded.details,
    first_raised_date = excluded.first_raised_date,
    is_new = excluded.is_new
