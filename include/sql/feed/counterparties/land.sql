CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    counterparty_id text,
    legal_name text,
    lei text,
    country_code text,
    sector text
)
