-- The instrument reference file as landed, with the target's types (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    instrument_id text,
    description varchar(128),
    asset_class text,
    market varchar(8),
    currency text,
    settlement_location varchar(16),
    settlement_cycle_days smallint,
    liquidity_tier smallint
)
