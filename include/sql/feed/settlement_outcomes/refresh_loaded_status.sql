-- ops.trades.status is the latest known status: the outcome of the trade's most recent
-- settlement event, pending before any, cancelled for good. The common case first: for a
-- trade with no later event, the event just loaded is its latest. Set-based (a join on the
-- primary key), and only rows whose status changes are written.
UPDATE ops.trades AS t
SET status = l.outcome
FROM landed_rows AS l
WHERE t.trade_id = l.trade_id
  AND NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
  AND NOT EXISTS (SELECT FROM later_events AS e WHERE e.trade_id = l.trade_id)
  AND t.status <> 'cancelled'
  AND t.status <> l.outcome
