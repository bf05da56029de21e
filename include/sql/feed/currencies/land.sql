CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    currency_code text,
    name text,
    minor_units text,
    usd_rate text
)
