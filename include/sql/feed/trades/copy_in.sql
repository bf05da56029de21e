COPY ops.trades (
    trade_id, business_date, trade_date, settle_date, desk, book, instrument_id, side, quantity,
    price, notional, currency, counterparty_id, settlement_location, ssi_status, booked_at,
    confirmed_at, allocated_at, status
) FROM STDIN WITH (FORMAT binary)
