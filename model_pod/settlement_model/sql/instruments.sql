-- Reference data of every instrument (a few thousand rows), joined to the trades in the job.
SELECT
    instrument_id::text AS instrument_id,
    asset_class::text AS asset_class,
    market::text AS market,
    settlement_cycle_days::int AS settlement_cycle_days,
    liquidity_tier::int AS liquidity_tier
FROM ops.instruments
