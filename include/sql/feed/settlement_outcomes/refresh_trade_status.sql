-- ops.trades.status is the latest known status: the outcome of the trade's most recent
-- settlement event (or pending when it has none), whatever order the dates were loaded in.
-- Cancelled trades keep their status.
UPDATE ops.trades AS t
SET status = latest.status
FROM (
    SELECT
        affected.trade_id,
        coalesce(
            (
                SELECT o.outcome
                FROM ops.settlement_outcomes AS o
                WHERE o.trade_id = affected.trade_id
                ORDER BY o.business_date DESC
                LIMIT 1
            ),
            'pending'
        ) AS status
    FROM (SELECT DISTINCT trade_id FROM affected_trades) AS affected
) AS latest
WHERE t.trade_id = latest.trade_id
  AND t.status <> 'cancelled'
  AND t.status <> latest.status
