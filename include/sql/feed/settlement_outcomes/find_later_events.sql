-- Trades with an event reported after this business date (none when loading the latest date;
-- some when an earlier date is reloaded): their status is not this date's outcome.
CREATE UNLOGGED TABLE later_events AS
SELECT DISTINCT trade_id
FROM ops.settlement_outcomes
WHERE business_date > %(business_date)s
