-- The fallback when a value of the file cannot be parsed: every value as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    currency_code text,
    name text,
    minor_units text,
    usd_rate text
)
