-- The night's alerts, most severe first; new ones before those still open from earlier nights.
SELECT rule_id, severity, entity_key, details, is_new, first_raised_date
FROM reporting.alerts
WHERE business_date = %(business_date)s
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
         is_new DESC, rule_id, entity_key
LIMIT %(limit)s;
