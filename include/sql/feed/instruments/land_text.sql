-- The fallback when a value of the file cannot be parsed: every value as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    instrument_id text,
    description text,
    asset_class text,
    market text,
    currency text,
    settlement_location text,
    settlement_cycle_days text,
    liquidity_tier text
)
