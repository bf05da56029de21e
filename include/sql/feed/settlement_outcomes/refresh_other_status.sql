-- The other trades this load touched: those with a later event, and those whose event of
-- this date was replaced by none (a rerun with other content). Usually none. Each gets the
-- outcome of its latest event (on the primary key of settlement_outcomes), or pending.
UPDATE ops.trades AS t
SET status = latest.status
FROM (
    SELECT touched.trade_id, coalesce(last_event.outcome, 'pending') AS status
    FROM (
        (
            SELECT trade_id FROM affected_trades
            EXCEPT
            SELECT l.trade_id FROM landed_rows AS l
            WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
        )
        UNION
        SELECT l.trade_id FROM landed_rows AS l JOIN later_events AS e USING (trade_id)
    ) AS touched
    LEFT JOIN LATERAL (
        SELECT o.outcome
        FROM ops.settlement_outcomes AS o
        WHERE o.trade_id = touched.trade_id
        ORDER BY o.business_date DESC
        LIMIT 1
    ) AS last_event ON true
) AS latest
WHERE t.trade_id = latest.trade_id
  AND t.status <> 'cancelled'
  AND t.status <> latest.status
