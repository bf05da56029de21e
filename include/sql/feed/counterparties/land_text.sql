-- The fallback when a value of the file cannot be parsed: every value as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    counterparty_id text,
    legal_name text,
    lei text,
    country_code text,
    sector text
)
