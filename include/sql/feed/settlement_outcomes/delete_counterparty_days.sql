-- The counterparties' settlement record of this date is replaced with the date's outcomes
-- (insert_counterparty_days.sql, next).
DELETE FROM ops.counterparty_settlement_days WHERE reported_on = %(business_date)s
