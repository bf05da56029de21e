-- Fallback path: the rows check_text.sql let through, into landed_rows.
INSERT INTO landed_rows (line_no, counterparty_id, legal_name, lei, country_code, sector) OVERRIDING SYSTEM VALUE
SELECT t.line_no, t.counterparty_id, t.legal_name, t.lei, t.country_code, t.sector
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
