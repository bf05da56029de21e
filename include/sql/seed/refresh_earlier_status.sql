-- The trades booked before a bulk seed's stretch ($2, its first date) with a settlement event on
-- this date ($1) take its outcome as their status; cancelled ones stay cancelled. The bulk
-- seed's counterpart of the loader's feed/settlement_outcomes/refresh_loaded_status.sql: the
-- stretch comes after every loaded date, so no trade has a later event, and no row is
-- rejected. The trades booked in the stretch already carry the status its events leave them in.
UPDATE ops.trades AS t
SET status = o.outcome
FROM ops.settlement_outcomes AS o
WHERE o.business_date = $1
  AND t.business_date < $2
  AND t.trade_id = o.trade_id
  AND t.status <> 'cancelled'
  AND t.status <> o.outcome
