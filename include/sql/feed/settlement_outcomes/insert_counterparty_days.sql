-- Each counterparty's settlement attempts (a 'failed' event, or an on-time 'settled' one: a
-- late 'settled' row follows a 'failed' one) and fails reported on this date, from the
-- outcomes just merged: the 90-day history the model reads
-- (settlement_model/sql/counterparty_history.sql) sums these rows instead of joining 90 days of
-- outcomes to their trades every night.
-- Each outcome's counterparty is looked up on the trades' primary key (a subquery per row:
-- the planner would rather hash every trade of the history, 17.3 s at 1M trades a day against
-- 3.7 s this way: docs/bench/counterparty_days_insert.plan.txt). The foreign key guarantees the
-- trade; a NULL counterparty would break the primary key, loudly.
INSERT INTO ops.counterparty_settlement_days (reported_on, counterparty_id, attempts, fails)
SELECT
    o.business_date,
    (SELECT t.counterparty_id FROM ops.trades AS t WHERE t.trade_id = o.trade_id) AS counterparty_id,
    count(*) FILTER (WHERE o.outcome = 'failed' OR o.days_late = 0),
    count(*) FILTER (WHERE o.outcome = 'failed')
FROM ops.settlement_outcomes AS o
WHERE o.business_date = %(business_date)s
GROUP BY 1, 2
