-- The landed file in a work table (staging schema, this transaction only: prepare_load.sql),
-- every value as text, so that no malformed value can fail the COPY: the checks decide what
-- is loaded. line_no is the row's position in the file (1 = first data row). Unlogged: a
-- work table needs no crash safety, and skipping the WAL makes the COPY cheaper.
CREATE UNLOGGED TABLE landed_rows (
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
