-- Fallback path, first rules on the text values (see trades/check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule, raw_record)
SELECT line_no, record_key, broken_rule, raw_record
FROM (
    SELECT
        t.line_no,
        coalesce(nullif(t.currency_code, ''), 'line:' || t.line_no) AS record_key,
        CASE
            WHEN nullif(t.currency_code, '') IS NULL THEN 'currency_code_missing'
            WHEN t.line_no > duplicate.first_line THEN 'currency_code_duplicated'
            WHEN NOT coalesce(
                coalesce(length(t.name) <= 64, true)
                AND coalesce(t.minor_units ~ '^\d{1,4}$', true)
                AND coalesce(t.usd_rate ~ '^\d{1,10}(\.\d{1,8})?$', true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule,
        to_jsonb(t) - 'line_no' AS raw_record
    FROM landed_text AS t
    LEFT JOIN (
        SELECT currency_code, min(line_no) AS first_line FROM landed_text GROUP BY currency_code HAVING count(*) > 1
    ) AS duplicate ON duplicate.currency_code = t.currency_code
) AS checked
WHERE broken_rule IS NOT NULL
