-- Fallback path: the rows check_text.sql let through, cast into landed_rows.
INSERT INTO landed_rows (
    line_no, instrument_id, description, asset_class, market, currency, settlement_location,
    settlement_cycle_days, liquidity_tier
) OVERRIDING SYSTEM VALUE
SELECT
    t.line_no, t.instrument_id, t.description, t.asset_class, t.market, t.currency,
    t.settlement_location, t.settlement_cycle_days::smallint, t.liquidity_tier::smallint
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
