-- Validation of the custodian statement, rules in order (see trades/check.sql). A trade_ref
-- the bank does not know is NOT a validation failure: it is a reconciliation break
-- (missing_internal), so it is loaded for the reconciliation to find.
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.trade_ref, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.trade_ref, '') IS NULL THEN 'trade_ref_missing'
            WHEN l.line_no > duplicate.first_line THEN 'trade_ref_duplicated'
            WHEN l.business_date IS NULL OR l.custodian IS NULL OR l.instrument_id IS NULL
                OR l.side IS NULL OR l.quantity IS NULL OR l.price IS NULL OR l.settle_date IS NULL
                OR l.counterparty_id IS NULL OR l.settlement_location IS NULL OR l.received_at IS NULL
                OR 'NaN' IN (l.quantity, l.price)
                OR NOT (isfinite(l.business_date) AND isfinite(l.settle_date) AND isfinite(l.received_at))
                THEN 'malformed_value'
            WHEN l.business_date <> %(business_date)s THEN 'business_date_mismatch'
            WHEN l.quantity <= 0 THEN 'quantity_not_positive'
            WHEN l.price <= 0 THEN 'price_not_positive'
            WHEN counterparty.counterparty_id IS NULL THEN 'counterparty_unknown'
            WHEN l.side NOT IN ('BUY', 'SELL') THEN 'value_not_allowed'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT trade_ref, min(line_no) AS first_line
        FROM landed_rows
        -- Rows copied straight passed the target's primary key: none is a duplicate.
        WHERE NOT %(copied_straight)s
        GROUP BY trade_ref
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_ref = l.trade_ref
    LEFT JOIN ops.counterparties AS counterparty ON counterparty.counterparty_id = l.counterparty_id
) AS checked
WHERE checked.broken_rule IS NOT NULL
