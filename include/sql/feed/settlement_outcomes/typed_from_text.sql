-- Fallback path: the rows check_text.sql let through, cast into landed_rows.
INSERT INTO landed_rows (line_no, trade_id, business_date, outcome, settled_date, days_late, fail_reason)
OVERRIDING SYSTEM VALUE
SELECT
    t.line_no, t.trade_id, t.business_date::date, t.outcome, t.settled_date::date,
    t.days_late::smallint, t.fail_reason
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
