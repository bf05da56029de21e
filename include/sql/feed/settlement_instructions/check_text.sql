-- Fallback path, first rules on the text values (see trades/check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule, raw_record)
SELECT line_no, record_key, broken_rule, raw_record
FROM (
    SELECT
        t.line_no,
        coalesce(nullif(t.ssi_id, ''), 'line:' || t.line_no) AS record_key,
        CASE
            WHEN nullif(t.ssi_id, '') IS NULL THEN 'ssi_id_missing'
            WHEN t.line_no > duplicate.first_line THEN 'ssi_id_duplicated'
            WHEN NOT coalesce(
                length(t.ssi_id) <= 24
                AND coalesce(length(t.settlement_location) <= 16, true)
                AND coalesce(length(t.safekeeping_account) <= 34, true)
                AND coalesce(t.valid_from ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$', true)
                AND coalesce(t.valid_to ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$', true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule,
        to_jsonb(t) - 'line_no' AS raw_record
    FROM landed_text AS t
    LEFT JOIN (
        SELECT ssi_id, min(line_no) AS first_line FROM landed_text GROUP BY ssi_id HAVING count(*) > 1
    ) AS duplicate ON duplicate.ssi_id = t.ssi_id
) AS checked
WHERE broken_rule IS NOT NULL
