-- Whether any trade is booked before a bulk seed's stretch (its first date): only then can the
-- stretch's settlement events change a loaded trade's status (refresh_earlier_status.sql).
SELECT EXISTS (SELECT FROM ops.trades WHERE business_date < $1)
