COPY ops.custodian_confirmations (
    business_date, trade_ref, custodian, instrument_id, side, quantity, price, settle_date,
    counterparty_id, settlement_location, received_at
) FROM STDIN WITH (FORMAT binary)
