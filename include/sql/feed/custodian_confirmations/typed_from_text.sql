-- Fallback path: the rows check_text.sql let through, cast into landed_rows.
INSERT INTO landed_rows (
    line_no, business_date, trade_ref, custodian, instrument_id, side, quantity, price, settle_date,
    counterparty_id, settlement_location, received_at
) OVERRIDING SYSTEM VALUE
SELECT
    t.line_no, t.business_date::date, t.trade_ref, t.custodian, t.instrument_id, t.side,
    t.quantity::numeric, t.price::numeric, t.settle_date::date, t.counterparty_id,
    t.settlement_location, t.received_at::timestamptz
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
