-- A statement-ready message that breaks a rule, kept whole with its rule.
INSERT INTO reporting.quarantine (business_date, source, rule, record_key, raw_record, dag_run_id)
VALUES (%(business_date)s, %(source)s, %(rule)s, %(record_key)s, %(raw_record)s, %(dag_run_id)s)
