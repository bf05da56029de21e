-- Validation of the standing settlement instructions file, rules in order (see trades/check.sql).
CREATE UNLOGGED TABLE rejected_rows AS
SELECT line_no, record_key, broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.ssi_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.ssi_id, '') IS NULL THEN 'ssi_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'ssi_id_duplicated'
            WHEN NOT coalesce(
                length(l.ssi_id) <= 24
                AND length(l.settlement_location) <= 16
                AND l.custodian_bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$'
                AND length(l.safekeeping_account) <= 34
                AND l.valid_from ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
                AND coalesce(l.valid_to ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$', true),
                false
            ) THEN 'malformed_value'
            WHEN counterparty.counterparty_id IS NULL THEN 'counterparty_unknown'
            WHEN currency.currency_code IS NULL THEN 'currency_unknown'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT ssi_id, min(line_no) AS first_line
        FROM landed_rows
        GROUP BY ssi_id
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.ssi_id = l.ssi_id
    LEFT JOIN ops.counterparties AS counterparty ON counterparty.counterparty_id = l.counterparty_id
    LEFT JOIN ops.currencies AS currency ON currency.currency_code = l.currency
) AS checked
WHERE broken_rule IS NOT NULL
