-- Fallback path, first rules on the text values (see trades/check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule, raw_record)
SELECT line_no, record_key, broken_rule, raw_record
FROM (
    SELECT
        t.line_no,
        coalesce(nullif(t.instrument_id, ''), 'line:' || t.line_no) AS record_key,
        CASE
            WHEN nullif(t.instrument_id, '') IS NULL THEN 'instrument_id_missing'
            WHEN t.line_no > duplicate.first_line THEN 'instrument_id_duplicated'
            WHEN NOT coalesce(
                coalesce(length(t.description) <= 128, true)
                AND coalesce(length(t.market) <= 8, true)
                AND coalesce(length(t.settlement_location) <= 16, true)
                AND coalesce(t.settlement_cycle_days ~ '^\d{1,4}$', true)
                AND coalesce(t.liquidity_tier ~ '^\d{1,4}$', true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule,
        to_jsonb(t) - 'line_no' AS raw_record
    FROM landed_text AS t
    LEFT JOIN (
        SELECT instrument_id, min(line_no) AS first_line FROM landed_text GROUP BY instrument_id HAVING count(*) > 1
    ) AS duplicate ON duplicate.instrument_id = t.instrument_id
) AS checked
WHERE broken_rule IS NOT NULL
