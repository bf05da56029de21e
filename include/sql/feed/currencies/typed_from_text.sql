-- Fallback path: the rows check_text.sql let through, cast into landed_rows.
INSERT INTO landed_rows (line_no, currency_code, name, minor_units, usd_rate) OVERRIDING SYSTEM VALUE
SELECT t.line_no, t.currency_code, t.name, t.minor_units::smallint, t.usd_rate::numeric
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
