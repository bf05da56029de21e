-- ops.counterparty_settlement_days from the outcomes loaded before migration 0012 (the same
-- aggregate as feed/settlement_outcomes/insert_counterparty_days.sql, over every date).
INSERT INTO ops.counterparty_settlement_days (reported_on, counterparty_id, attempts, fails)
SELECT
    o.business_date,
    t.counterparty_id,
    count(*) FILTER (WHERE o.outcome = 'failed' OR o.days_late = 0),
    count(*) FILTER (WHERE o.outcome = 'failed')
FROM ops.settlement_outcomes AS o
JOIN ops.trades AS t ON t.trade_id = o.trade_id
GROUP BY o.business_date, t.counterparty_id
