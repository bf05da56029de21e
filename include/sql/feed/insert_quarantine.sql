-- Each rejected row, whole and as received (every value as text), with the rule it broke.
INSERT INTO reporting.quarantine (business_date, source, rule, record_key, raw_record, dag_run_id)
SELECT %(business_date)s, %(source)s, r.broken_rule, left(r.record_key, 64), to_jsonb(l) - 'line_no', %(dag_run_id)s
FROM rejected_rows r
JOIN landed_rows l USING (line_no)
ORDER BY r.line_no
