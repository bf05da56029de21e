COPY landed_text (
    instrument_id, description, asset_class, market, currency, settlement_location,
    settlement_cycle_days, liquidity_tier
) FROM STDIN WITH (FORMAT csv, HEADER match)
