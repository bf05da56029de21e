-- Good rows into ops.trades, keyed by trade_id, when some of them are there already (a rerun;
-- the first load of a day is a plain COPY: copy_in.sql): a rerun rewrites nothing that did not change.
-- The file's status is the booking system's ('pending' or 'cancelled'); a trade's settlement
-- status comes from its outcomes (settlement_outcomes/refresh_trade_status.sql), so an
-- existing status is kept unless the trade is (or was) cancelled.
INSERT INTO ops.trades AS t (
    trade_id, business_date, trade_date, settle_date, desk, book, instrument_id, side, quantity,
    price, notional, currency, counterparty_id, settlement_location, ssi_status, booked_at,
    confirmed_at, allocated_at, status
)
SELECT
    l.trade_id, l.business_date, l.trade_date, l.settle_date, l.desk, l.book, l.instrument_id,
    l.side, l.quantity, l.price, l.notional, l.currency, l.counterparty_id, l.settlement_location,
    l.ssi_status, l.booked_at, l.confirmed_at, l.allocated_at, l.status
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT (trade_id) DO UPDATE SET
    business_date = excluded.business_date,
    trade_date = excluded.trade_date,
    settle_date = excluded.settle_date,
    desk = excluded.desk,
    book = excluded.book,
    instrument_id = excluded.instrument_id,
    side = excluded.side,
    quantity = excluded.quantity,
    price = excluded.price,
    notional = excluded.notional,
    currency = excluded.currency,
    counterparty_id = excluded.counterparty_id,
    settlement_location = excluded.settlement_location,
    ssi_status = excluded.ssi_status,
    booked_at = excluded.booked_at,
    confirmed_at = excluded.confirmed_at,
    allocated_at = excluded.allocated_at,
    status = CASE
        WHEN excluded.status = 'cancelled' THEN 'cancelled'
        WHEN t.status = 'cancelled' THEN 'pending'
        ELSE t.status
    END
WHERE (
    t.business_date, t.trade_date, t.settle_date, t.desk, t.book, t.instrument_id, t.side,
    t.quantity, t.price, t.notional, t.currency, t.counterparty_id, t.settlement_location,
    t.ssi_status, t.booked_at, t.confirmed_at, t.allocated_at, t.status = 'cancelled'
) IS DISTINCT FROM (
    excluded.business_date, excluded.trade_date, excluded.settle_date, excluded.desk, excluded.book,
    excluded.instrument_id, excluded.side, excluded.quantity, excluded.price, excluded.notional,
    excluded.currency, excluded.counterparty_id, excluded.settlement_location, excluded.ssi_status,
    excluded.booked_at, excluded.confirmed_at, excluded.allocated_at, excluded.status = 'cancelled'
)
