-- The landed file in a work table with the target's types, so the COPY itself parses every
-- value (fast). If a value cannot be parsed, the COPY fails and the load falls back to
-- land_text.sql (every value as text) to find and quarantine the malformed rows.
-- Enumerations and reference keys stay text: their rules (check.sql) name what is wrong.
-- line_no is the row's position in the file (1 = the first data row).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    trade_id varchar(24),
    business_date date,
    trade_date date,
    settle_date date,
    desk varchar(32),
    book varchar(32),
    instrument_id text,
    side text,
    quantity numeric(20, 4),
    price numeric(20, 8),
    notional numeric(22, 2),
    currency text,
    counterparty_id text,
    settlement_location varchar(16),
    ssi_status text,
    booked_at timestamptz,
    confirmed_at timestamptz,
    allocated_at timestamptz,
    status text
)
