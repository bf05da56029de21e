INSERT INTO ops.custodian_confirmations (
    business_date, trade_ref, custodian, instrument_id, side, quantity, price, settle_date,
    counterparty_id, settlement_location, received_at
)
SELECT
    l.business_date, l.trade_ref, l.custodian, l.instrument_id, l.side, l.quantity, l.price,
    l.settle_date, l.counterparty_id, l.settlement_location, l.received_at
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
