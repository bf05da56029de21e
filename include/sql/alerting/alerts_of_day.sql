-- Every alert of %(business_date)s with its rule's owner, in a stable order (the night's summary
-- and the Kafka messages are built from it).
SELECT
    a.rule_id, a.business_date, a.entity_key, a.severity, a.details, a.first_raised_date, a.is_new,
    r.owner
FROM reporting.alerts AS a
LEFT JOIN reporting.alert_rule_runs AS r
    ON r.rule_id = a.rule_id
   AND r.business_date = a.business_date
WHERE a.business_date = %(business_date)s
ORDER BY a.rule_id, a.entity_key
