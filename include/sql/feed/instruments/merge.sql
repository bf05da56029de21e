INSERT INTO ops.instruments AS i (
    instrument_id, description, asset_class, market, currency, settlement_location,
    settlement_cycle_days, liquidity_tier
)
SELECT
    l.instrument_id, l.description, l.asset_class, l.market, l.currency, l.settlement_location,
    l.settlement_cycle_days, l.liquidity_tier
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT (instrument_id) DO UPDATE SET
    description = excluded.description, asset_class = excluded.asset_class, market = excluded.market,
    currency = excluded.currency, settlement_location = excluded.settlement_location,
    settlement_cycle_days = excluded.settlement_cycle_days, liquidity_tier = excluded.liquidity_tier
WHERE (
    i.description, i.asset_class, i.market, i.currency, i.settlement_location,
    i.settlement_cycle_days, i.liquidity_tier
) IS DISTINCT FROM (
    excluded.description, excluded.asset_class, excluded.market, excluded.currency,
    excluded.settlement_location, excluded.settlement_cycle_days, excluded.liquidity_tier
)
