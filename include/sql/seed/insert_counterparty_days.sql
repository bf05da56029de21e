-- The bulk seed's counterpart of feed/settlement_outcomes/insert_counterparty_days.sql, once
-- for its whole stretch ($1 .. $2) at its end: one join of the stretch's outcomes to their
-- trades instead of one per day. The stretch follows every loaded date, so none of its dates
-- has rows yet.
INSERT INTO ops.counterparty_settlement_days (reported_on, counterparty_id, attempts, fails)
SELECT
    o.business_date,
    t.counterparty_id,
    count(*) FILTER (WHERE o.outcome = 'failed' OR o.days_late = 0),
    count(*) FILTER (WHERE o.outcome = 'failed')
FROM ops.settlement_outcomes AS o
JOIN ops.trades AS t ON t.trade_id = o.trade_id
WHERE o.business_date BETWEEN $1 AND $2
GROUP BY o.business_date, t.counterparty_id
