INSERT INTO ops.currencies AS c (currency_code, name, minor_units, usd_rate)
SELECT l.currency_code, l.name, l.minor_units, l.usd_rate
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT (currency_code) DO UPDATE SET
    name = excluded.name, minor_units = excluded.minor_units, usd_rate = excluded.usd_rate
WHERE (c.name, c.minor_units, c.usd_rate) IS DISTINCT FROM (excluded.name, excluded.minor_units, excluded.usd_rate)
