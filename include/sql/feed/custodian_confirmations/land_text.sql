-- The fallback when a value of the statement cannot be parsed: every value as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    business_date text,
    trade_ref text,
    custodian text,
    instrument_id text,
    side text,
    quantity text,
    price text,
    settle_date text,
    counterparty_id text,
    settlement_location text,
    received_at text
)
