-- Validation of the instrument reference file, rules in order (see trades/check.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.instrument_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.instrument_id, '') IS NULL THEN 'instrument_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'instrument_id_duplicated'
            WHEN l.instrument_id !~ '^[A-Z]{2}[0-9A-Z]{9}[0-9]$' OR l.description IS NULL
                OR l.asset_class IS NULL OR l.market IS NULL OR l.settlement_location IS NULL
                OR l.settlement_cycle_days IS NULL OR l.liquidity_tier IS NULL THEN 'malformed_value'
            WHEN currency.currency_code IS NULL THEN 'currency_unknown'
            WHEN l.asset_class NOT IN ('equity', 'government_bond', 'corporate_bond', 'fx')
                OR l.settlement_cycle_days NOT BETWEEN 0 AND 5
                OR l.liquidity_tier NOT BETWEEN 1 AND 3 THEN 'value_not_allowed'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT instrument_id, min(line_no) AS first_line FROM landed_rows GROUP BY instrument_id HAVING count(*) > 1
    ) AS duplicate ON duplicate.instrument_id = l.instrument_id
    LEFT JOIN ops.currencies AS currency ON currency.currency_code = l.currency
) AS checked
WHERE checked.broken_rule IS NOT NULL
