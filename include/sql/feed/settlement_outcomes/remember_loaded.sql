-- The trades whose events were just loaded: their status is refreshed next.
INSERT INTO affected_trades (trade_id)
SELECT l.trade_id
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
