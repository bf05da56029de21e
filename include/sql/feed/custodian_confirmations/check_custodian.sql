-- One custodian's statement (statements/loading.py): a row of another custodian is rejected
-- (custodian_mismatch), unless an earlier rule rejected it already (one rule per row).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT l.line_no, coalesce(nullif(l.trade_ref, ''), 'line:' || l.line_no), 'custodian_mismatch'
FROM landed_rows AS l
WHERE l.custodian IS DISTINCT FROM %(custodian)s
  AND NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
