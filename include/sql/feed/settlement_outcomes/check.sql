-- Validation of the settlement outcomes, rules in order (see trades/check.sql).
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
                AND coalesce(l.settled_date ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$', true)
                AND l.days_late ~ '^\d{1,4}$'
                AND l.outcome IS NOT NULL
                AND coalesce(length(l.fail_reason) <= 32, true),
                false
            ) THEN 'malformed_value'
            WHEN l.business_date::date <> %(business_date)s THEN 'business_date_mismatch'
            WHEN trade.trade_id IS NULL THEN 'trade_unknown'
            WHEN l.outcome NOT IN ('settled', 'failed') THEN 'value_not_allowed'
            WHEN (l.outcome = 'failed') <> (l.fail_reason IS NOT NULL)
                OR (l.outcome = 'settled') <> (l.settled_date IS NOT NULL) THEN 'outcome_inconsistent'
        END AS broken_rule
    FROM landed_rows AS l
    LEFT JOIN (
        SELECT trade_id, min(line_no) AS first_line
        FROM landed_rows
        GROUP BY trade_id
        HAVING count(*) > 1
    ) AS duplicate ON duplicate.trade_id = l.trade_id
    LEFT JOIN ops.trades AS trade ON trade.trade_id = l.trade_id
) AS checked
WHERE broken_rule IS NOT NULL
