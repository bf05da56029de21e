-- Fallback path, first rules on the text values: a missing or duplicated key, then any value
-- that land.sql's types cannot hold (shape, digits, length) is malformed_value. The rows
-- that pass are cast into landed_rows (typed_from_text.sql) for the remaining rules.
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
                AND t.trade_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND t.settle_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND length(t.desk) <= 32 AND length(t.book) <= 32
                AND coalesce(length(t.settlement_location) <= 16, true)
                AND coalesce(t.quantity ~ '^-?\d{1,16}(\.\d{1,4})?$', true)
                AND coalesce(t.price ~ '^-?\d{1,12}(\.\d{1,8})?$', true)
                AND coalesce(t.notional ~ '^-?\d{1,20}(\.\d{1,2})?$', true)
                AND coalesce(t.booked_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$', true)
                AND coalesce(t.confirmed_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$', true)
                AND coalesce(t.allocated_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$', true),
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
