-- The custodians' statement as landed, with the target's types (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    business_date date,
    trade_ref varchar(24),
    custodian varchar(24),
    instrument_id varchar(12),
    side text,
    quantity numeric(20, 4),
    price numeric(20, 8),
    settle_date date,
    counterparty_id text,
    settlement_location varchar(16),
    received_at timestamptz
)
