-- The settlement events reported for the business date, with the target's types (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    trade_id varchar(24),
    business_date date,
    outcome text,
    settled_date date,
    days_late smallint,
    fail_reason varchar(32)
)
