-- Validation of the custodian statement, rules in order (see trades/check.sql). A trade_ref
-- the bank does not know is NOT a validation failure: it is a reconciliation break
-- (missing_internal), so it is loaded for the reconciliation to find.
CREATE UNLOGGED TABLE rejected_rows AS
SELECT line_no, record_key, broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.trade_ref, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.trade_ref, '') IS NULL THEN 'trade_ref_missing'
            WHEN l.line_no > duplicate.first_line THEN 'trade_ref_duplicated'
            WHEN NOT coalesce(
                length(l.trade_ref) <= 24
                AND l.business_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND l.settle_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND length(l.custodian) <= 24 AND length(l.instrument_id) <= 12
                AND length(l.counterparty_id) <= 16 AND length(l.settlement_location) <= 16
                AND l.side IS NOT NULL
                AND l.quantity ~ '^-?\d{1,16}(\.\d+)?$'
                AND l.price ~ '^-?\d{1,12}(\.\d+)?$'
                AND l.received_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$',
                false
            ) THEN 'malformed_value'
            WHEN l.business_date::date <> %(business_date)s THEN 'business_date_mismatch'
            WHEN l.quantity::numeric <= 0 THEN 'quantity_not_positive'
            WHEN l.price::numeric <= 0 THEN 'price_not_positive'
            WHEN counterparty.counterparty_id IS NULL THEN 'counterparty_unknown'
            WHEN l.side NOT IN ('BUY', 'SELL') THEN 'value_not_allowed'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT trade_ref, min(line_no) AS first_line
        FROM landed_rows
        GROUP BY trade_ref
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_ref = l.trade_ref
    LEFT JOIN ops.counterparties AS counterparty ON counterparty.counterparty_id = l.counterparty_id
) AS checked
WHERE broken_rule IS NOT NULL
