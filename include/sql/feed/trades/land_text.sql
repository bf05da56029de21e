-- The fallback when a value of the file cannot be parsed: every value as text (see land.sql).
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    trade_id text,
    business_date text,
    trade_date text,
    settle_date text,
    desk text,
    book text,
    instrument_id text,
    side text,
    quantity text,
    price text,
    notional text,
    currency text,
    counterparty_id text,
    settlement_location text,
    ssi_status text,
    booked_at text,
    confirmed_at text,
    allocated_at text,
    status text
)
