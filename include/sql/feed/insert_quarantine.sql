-- Each rejected row, whole (every value as text), with the rule it broke.
INSERT INTO reporting.quarantine (business_date, source, rule, record_key, raw_record, dag_run_id)
SELECT %(business_date)s, %(source)s, broken_rule, left(record_key, 64), raw_record, %(dag_run_id)s
FROM rejected_rows
ORDER BY line_no
