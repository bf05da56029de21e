-- Validation of the settlement outcomes, rules in order (see trades/check.sql).
INSERT INTO rejected_rows (line_no, record_key, broken_rule)
SELECT checked.line_no, checked.record_key, checked.broken_rule
FROM (
    SELECT
        l.line_no,
        coalesce(nullif(l.trade_id, ''), 'line:' || l.line_no) AS record_key,
        CASE
            WHEN nullif(l.trade_id, '') IS NULL THEN 'trade_id_missing'
            WHEN l.line_no > duplicate.first_line THEN 'trade_id_duplicated'
            WHEN l.business_date IS NULL OR l.outcome IS NULL OR l.days_late IS NULL OR l.days_late < 0
                OR NOT (isfinite(l.business_date) AND coalesce(isfinite(l.settled_date), true))
                THEN 'malformed_value'
            WHEN l.business_date <> %(business_date)s THEN 'business_date_mismatch'
            WHEN NOT %(copied_straight)s AND trade.trade_id IS NULL THEN 'trade_unknown'
            WHEN l.outcome NOT IN ('settled', 'failed') THEN 'value_not_allowed'
            WHEN (l.outcome = 'failed') <> (l.fail_reason IS NOT NULL)
                OR (l.outcome = 'settled') <> (l.settled_date IS NOT NULL) THEN 'outcome_inconsistent'
            -- A trade that settled does not fail afterwards (a fail is reported on the settle date,
            -- its late settlement after it): a training label, and a shadow comparison left as
            -- final, would otherwise change with a later file. Looked up for the fails only.
            WHEN l.outcome = 'failed' AND EXISTS (
                SELECT
                FROM ops.settlement_outcomes AS settled
                WHERE settled.trade_id = l.trade_id
                  AND settled.outcome = 'settled'
                  AND settled.business_date < l.business_date
            ) THEN 'failed_after_settlement'
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
    -- Rows copied straight passed the target's foreign key: their trades exist, and the one
    -- big table this check reads is not looked up for them (a condition of the subquery, not
    -- of the join, so that a generic plan skips it too).
    LEFT JOIN (SELECT trade_id FROM ops.trades WHERE NOT %(copied_straight)s) AS trade
        ON trade.trade_id = l.trade_id
) AS checked
WHERE checked.broken_rule IS NOT NULL
