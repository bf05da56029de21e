-- Validation of the trades file: each rule is a named check, evaluated in this order; a row
-- is rejected under the first rule it breaks. Later checks may cast, because malformed
-- values were rejected before them (CASE evaluates its branches in order).
CREATE UNLOGGED TABLE rejected_rows AS
SELECT line_no, record_key, broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.trade_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.trade_id, '') IS NULL THEN 'trade_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'trade_id_duplicated'
            WHEN NOT coalesce(
                length(l.trade_id) <= 24
                AND l.business_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND l.trade_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND l.settle_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND length(l.desk) <= 32 AND length(l.book) <= 32
                AND l.instrument_id IS NOT NULL AND l.currency IS NOT NULL AND l.counterparty_id IS NOT NULL
                AND l.side IS NOT NULL AND l.ssi_status IS NOT NULL AND l.status IS NOT NULL
                AND length(l.settlement_location) <= 16
                AND l.quantity ~ '^-?\d{1,16}(\.\d+)?$'
                AND l.price ~ '^-?\d{1,12}(\.\d+)?$'
                AND l.notional ~ '^-?\d{1,20}(\.\d+)?$'
                AND l.booked_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$'
                AND coalesce(l.confirmed_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$', true)
                AND coalesce(l.allocated_at ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$', true),
                false
            ) THEN 'malformed_value'
            WHEN l.business_date::date <> %(business_date)s THEN 'business_date_mismatch'
            WHEN l.quantity::numeric <= 0 THEN 'quantity_not_positive'
            WHEN l.price::numeric <= 0 THEN 'price_not_positive'
            WHEN currency.currency_code IS NULL THEN 'currency_unknown'
            WHEN counterparty.counterparty_id IS NULL THEN 'counterparty_unknown'
            WHEN instrument.instrument_id IS NULL THEN 'instrument_unknown'
            WHEN l.settle_date::date < l.trade_date::date THEN 'settle_date_before_trade_date'
            WHEN l.trade_date::date > l.business_date::date THEN 'trade_date_after_business_date'
            WHEN l.side NOT IN ('BUY', 'SELL')
                OR l.ssi_status NOT IN ('matched', 'mismatched', 'missing')
                OR l.status NOT IN ('pending', 'cancelled') THEN 'value_not_allowed'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT trade_id, min(line_no) AS first_line
        FROM landed_rows
        GROUP BY trade_id
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_id = l.trade_id
    LEFT JOIN ops.currencies AS currency ON currency.currency_code = l.currency
    LEFT JOIN ops.counterparties AS counterparty ON counterparty.counterparty_id = l.counterparty_id
    LEFT JOIN ops.instruments AS instrument ON instrument.instrument_id = l.instrument_id
) AS checked
WHERE broken_rule IS NOT NULL
