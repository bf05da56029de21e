-- Validation of the currency reference file, rules in order (see trades/check.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.currency_code, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.currency_code, '') IS NULL THEN 'currency_code_missing'
            WHEN l.line_no > duplicate.first_line THEN 'currency_code_duplicated'
            WHEN l.currency_code !~ '^[A-Z]{3}$' OR l.name IS NULL OR l.minor_units IS NULL
                OR l.minor_units NOT BETWEEN 0 AND 4 OR l.usd_rate = 'NaN' THEN 'malformed_value'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT currency_code, min(line_no) AS first_line FROM landed_rows GROUP BY currency_code HAVING count(*) > 1
    ) AS duplicate ON duplicate.currency_code = l.currency_code
) AS checked
WHERE checked.broken_rule IS NOT NULL
