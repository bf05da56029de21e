-- Fallback path: the rows check_text.sql let through, cast into landed_rows (keeping their
-- line numbers) for the remaining rules and the merge.
INSERT INTO landed_rows (
    line_no, trade_id, business_date, trade_date, settle_date, desk, book, instrument_id, side,
    quantity, price, notional, currency, counterparty_id, settlement_location, ssi_status,
    booked_at, confirmed_at, allocated_at, status
) OVERRIDING SYSTEM VALUE
SELECT
    t.line_no, t.trade_id, t.business_date::date, t.trade_date::date, t.settle_date::date, t.desk,
    t.book, t.instrument_id, t.side, t.quantity::numeric, t.price::numeric, t.notional::numeric,
    t.currency, t.counterparty_id, t.settlement_location, t.ssi_status, t.booked_at::timestamptz,
    t.confirmed_at::timestamptz, t.allocated_at::timestamptz, t.status
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
