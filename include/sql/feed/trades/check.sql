-- Validation of the trades file: each rule is a named check, evaluated in this order; a row
-- is rejected under the first rule it breaks (CASE evaluates its branches in order). The
-- values are typed already (land.sql), so malformed_value here is a missing required value
-- or a non-finite one; unparseable values were caught by the COPY (see check_text.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.trade_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.trade_id, '') IS NULL THEN 'trade_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'trade_id_duplicated'
            WHEN l.business_date IS NULL OR l.trade_date IS NULL OR l.settle_date IS NULL
                OR l.desk IS NULL OR l.book IS NULL OR l.instrument_id IS NULL OR l.side IS NULL
                OR l.quantity IS NULL OR l.price IS NULL OR l.notional IS NULL OR l.currency IS NULL
                OR l.counterparty_id IS NULL OR l.settlement_location IS NULL OR l.ssi_status IS NULL
                OR l.booked_at IS NULL OR l.status IS NULL
                OR 'NaN' IN (l.quantity, l.price, l.notional)
                OR NOT (isfinite(l.business_date) AND isfinite(l.trade_date) AND isfinite(l.settle_date)
                        AND isfinite(l.booked_at) AND coalesce(isfinite(l.confirmed_at), true)
                        AND coalesce(isfinite(l.allocated_at), true)) THEN 'malformed_value'
            WHEN l.business_date <> %(business_date)s THEN 'business_date_mismatch'
            WHEN l.quantity <= 0 THEN 'quantity_not_positive'
            WHEN l.price <= 0 THEN 'price_not_positive'
            WHEN currency.currency_code IS NULL THEN 'currency_unknown'
            WHEN counterparty.counterparty_id IS NULL THEN 'counterparty_unknown'
            WHEN instrument.instrument_id IS NULL THEN 'instrument_unknown'
            WHEN l.settle_date < l.trade_date THEN 'settle_date_before_trade_date'
            -- Settlement cycles are at most T+5 business days (ops.instruments); the
            -- reconciliation looks for a trade not yet due within 31 days of its date
            -- (recon/insert_breaks.sql), so a settle date further out is a typo, not a trade.
            WHEN l.settle_date > l.trade_date + 31 THEN 'settlement_cycle_too_long'
            WHEN l.trade_date > l.business_date THEN 'trade_date_after_business_date'
            WHEN l.side NOT IN ('BUY', 'SELL')
                OR l.ssi_status NOT IN ('matched', 'mismatched', 'missing')
                OR l.status NOT IN ('pending', 'cancelled') THEN 'value_not_allowed'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT trade_id, min(line_no) AS first_line
        FROM landed_rows
        -- Rows copied straight passed the target's primary key: none is a duplicate.
        WHERE NOT %(copied_straight)s
        GROUP BY trade_id
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_id = l.trade_id
    LEFT JOIN ops.currencies AS currency ON currency.currency_code = l.currency
    LEFT JOIN ops.counterparties AS counterparty ON counterparty.counterparty_id = l.counterparty_id
    LEFT JOIN ops.instruments AS instrument ON instrument.instrument_id = l.instrument_id
) AS checked
WHERE checked.broken_rule IS NOT NULL
