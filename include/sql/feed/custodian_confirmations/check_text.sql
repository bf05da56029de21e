-- Fallback path, first rules on the text values (see trades/check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule, raw_record)
SELECT line_no, record_key, broken_rule, raw_record
FROM (
    SELECT
        t.line_no,
        coalesce(nullif(t.trade_ref, ''), 'line:' || t.line_no) AS record_key,
        CASE
            WHEN nullif(t.trade_ref, '') IS NULL THEN 'trade_ref_missing'
            WHEN t.line_no > duplicate.first_line THEN 'trade_ref_duplicated'
            WHEN NOT coalesce(
                length(t.trade_ref) <= 24
                AND t.business_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND coalesce(t.settle_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$', true)
                AND coalesce(length(t.custodian) <= 24, true)
                AND coalesce(length(t.instrument_id) <= 12, true)
                AND coalesce(length(t.settlement_location) <= 16, true)
                AND coalesce(t.quantity ~ '^-?\d{1,16}(\.\d{1,4})?$', true)
                AND coalesce(t.price ~ '^-?\d{1,12}(\.\d{1,8})?$', true)
                AND coalesce(t.received_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$', true),
                false
            ) THEN 'malformed_value'
        END AS broken_rule,
        to_jsonb(t) - 'line_no' AS raw_record
    FROM landed_text AS t
    LEFT JOIN (
        SELECT trade_ref, min(line_no) AS first_line
        FROM landed_text
        GROUP BY trade_ref
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_ref = t.trade_ref
) AS checked
WHERE broken_rule IS NOT NULL
