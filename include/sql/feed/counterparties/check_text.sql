-- Fallback path, first rules on the text values (see trades/check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule, raw_record)
SELECT line_no, record_key, broken_rule, raw_record
FROM (
    SELECT
        t.line_no,
        coalesce(nullif(t.counterparty_id, ''), 'line:' || t.line_no) AS record_key,
        CASE
            WHEN nullif(t.counterparty_id, '') IS NULL THEN 'counterparty_id_missing'
            WHEN t.line_no > duplicate.first_line THEN 'counterparty_id_duplicated'
            WHEN NOT coalesce(
                length(t.counterparty_id) <= 16
                AND coalesce(length(t.legal_name) <= 128, true)
                AND coalesce(length(t.sector) <= 32, true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule,
        to_jsonb(t) - 'line_no' AS raw_record
    FROM landed_text AS t
    LEFT JOIN (
        SELECT counterparty_id, min(line_no) AS first_line FROM landed_text GROUP BY counterparty_id HAVING count(*) > 1
    ) AS duplicate ON duplicate.counterparty_id = t.counterparty_id
) AS checked
WHERE broken_rule IS NOT NULL
