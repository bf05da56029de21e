-- Validation of the counterparty reference file, rules in order (see trades/check.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.counterparty_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.counterparty_id, '') IS NULL THEN 'counterparty_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'counterparty_id_duplicated'
            WHEN l.legal_name IS NULL OR l.sector IS NULL
                OR NOT coalesce(l.lei ~ '^[0-9A-Z]{20}$' AND l.country_code ~ '^[A-Z]{2}$', false)
                THEN 'malformed_value'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT counterparty_id, min(line_no) AS first_line FROM landed_rows GROUP BY counterparty_id HAVING count(*) > 1
    ) AS duplicate ON duplicate.counterparty_id = l.counterparty_id
) AS checked
WHERE checked.broken_rule IS NOT NULL
