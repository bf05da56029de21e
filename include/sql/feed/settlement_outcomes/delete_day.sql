-- The events reported on a business date replace that date's events; the trades whose
-- events are removed are remembered, so their status can be refreshed.
CREATE UNLOGGED TABLE affected_trades AS
WITH deleted AS (
    DELETE FROM ops.settlement_outcomes WHERE business_date = %(business_date)s RETURNING trade_id
)
SELECT trade_id FROM deleted
