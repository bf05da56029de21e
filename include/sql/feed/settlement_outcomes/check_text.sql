-- Fallback path, first rules on the text values (see trades/check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule, raw_record)
SELECT line_no, record_key, broken_rule, raw_record
FROM (
    SELECT
        t.line_no,
        coalesce(nullif(t.trade_id, ''), 'line:' || t.line_no) AS record_key,
        CASE
            WHEN nullif(t.trade_id, '') IS NULL THEN 'trade_id_missing'
            WHEN t.line_no > duplicate.first_line THEN 'trade_id_duplicated'
            WHEN NOT coalesce(
                length(t.trade_id) <= 24
                AND t.business_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND coalesce(t.settled_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$', true)
                AND coalesce(t.days_late ~ '^\d{1,4}$', true)
                AND coalesce(length(t.fail_reason) <= 32, true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule,
        to_jsonb(t) - 'line_no' AS raw_record
    FROM landed_text AS t
    LEFT JOIN (
        SELECT trade_id, min(line_no) AS first_line
        FROM landed_text
        GROUP BY trade_id
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_id = t.trade_id
) AS checked
WHERE broken_rule IS NOT NULL
