-- Validation of the currency reference file, rules in order (see trades/check.sql).
CREATE UNLOGGED TABLE rejected_rows AS
SELECT line_no, record_key, broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.currency_code, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.currency_code, '') IS NULL THEN 'currency_code_missing'
            WHEN l.line_no > duplicate.first_line THEN 'currency_code_duplicated'
            WHEN NOT coalesce(
                l.currency_code ~ '^[A-Z]{3}$'
                AND length(l.name) <= 64
                AND l.minor_units ~ '^\d{1}$'
                AND coalesce(l.usd_rate ~ '^\d{1,10}(\.\d+)?$', true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT currency_code, min(line_no) AS first_line
        FROM landed_rows
        GROUP BY currency_code
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.currency_code = l.currency_code
) AS checked
WHERE broken_rule IS NOT NULL
