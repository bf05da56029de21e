-- The fallback when a value of the file cannot be parsed: every value as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    trade_id text,
    business_date text,
    outcome text,
    settled_date text,
    days_late text,
    fail_reason text
)
