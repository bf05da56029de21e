-- Validation of the standing settlement instructions file, rules in order (see trades/check.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.ssi_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.ssi_id, '') IS NULL THEN 'ssi_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'ssi_id_duplicated'
            WHEN l.counterparty_id IS NULL OR l.settlement_location IS NULL OR l.currency IS NULL
                OR l.safekeeping_account IS NULL OR l.valid_from IS NULL
                OR NOT coalesce(l.custodian_bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$', false)
                OR NOT isfinite(l.valid_from) THEN 'malformed_value'
            WHEN counterparty.counterparty_id IS NULL THEN 'counterparty_unknown'
            WHEN currency.currency_code IS NULL THEN 'currency_unknown'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT ssi_id, min(line_no) AS first_line FROM landed_rows GROUP BY ssi_id HAVING count(*) > 1
    ) AS duplicate ON duplicate.ssi_id = l.ssi_id
    LEFT JOIN ops.counterparties AS counterparty ON counterparty.counterparty_id = l.counterparty_id
    LEFT JOIN ops.currencies AS currency ON currency.currency_code = l.currency
) AS checked
WHERE checked.broken_rule IS NOT NULL
