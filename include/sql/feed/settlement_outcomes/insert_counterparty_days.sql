-- Each counterparty's settlement attempts (a 'failed' event, or an on-time 'settled' one: a
-- late 'settled' row follows a 'failed' one) and fails reported on this date, from the
-- outcomes just merged: the 90-day history the model reads
-- (settlement_model/sql/counterparty_history.sql) sums these rows instead of joining 90 days of
-- outcomes to their trades every night.
INSERT INTO ops.counterparty_settlement_days (reported_on, counterparty_id, attempts, fails)
SELECT
    o.business_date,
    t.counterparty_id,
    count(*) FILTER (WHERE o.outcome = 'failed' OR o.days_late = 0),
    count(*) FILTER (WHERE o.outcome = 'failed')
FROM ops.settlement_outcomes AS o
JOIN ops.trades AS t ON t.trade_id = o.trade_id
WHERE o.business_date = %(business_date)s
GROUP BY o.business_date, t.counterparty_id
