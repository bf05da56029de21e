INSERT INTO ops.counterparties AS c (counterparty_id, legal_name, lei, country_code, sector)
SELECT l.counterparty_id, l.legal_name, l.lei, l.country_code, l.sector
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT (counterparty_id) DO UPDATE SET
    legal_name = excluded.legal_name, lei = excluded.lei, country_code = excluded.country_code,
    sector = excluded.sector
WHERE (c.legal_name, c.lei, c.country_code, c.sector)
    IS DISTINCT FROM (excluded.legal_name, excluded.lei, excluded.country_code, excluded.sector)
