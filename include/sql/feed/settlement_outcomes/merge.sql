WITH inserted AS (
    INSERT INTO ops.settlement_outcomes (trade_id, business_date, outcome, settled_date, days_late, fail_reason)
    SELECT l.trade_id, l.business_date, l.outcome, l.settled_date, l.days_late, l.fail_reason
    FROM landed_rows AS l
    WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
    RETURNING trade_id
)
INSERT INTO affected_trades (trade_id)
SELECT trade_id FROM inserted
