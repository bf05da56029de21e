-- The settlement events reported for the business date, every value as text (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    trade_id text,
    business_date text,
    outcome text,
    settled_date text,
    days_late text,
    fail_reason text
)
