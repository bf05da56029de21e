-- The currency reference file as landed, with the target's types (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    currency_code text,
    name varchar(64),
    minor_units smallint,
    usd_rate numeric(18, 8)
)
