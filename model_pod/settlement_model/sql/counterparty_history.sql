-- Each counterparty's settlement record over the 90 days up to each as-of date D, from the
-- outcomes reported on or before D (never later: what was known at the end of D).
-- A trade's settlement attempt is its 'failed' row or its on-time 'settled' row (a late
-- 'settled' row follows a 'failed' one). Parameters: settlement_model.as_of_dates.
-- ops.counterparty_settlement_days holds those counts per counterparty and reporting date,
-- written with each date's outcomes (the feed, the bulk seed): 90 x counterparties rows per
-- as-of date, instead of joining 90 days of outcomes to their trades (at 1M trades a day, 30 M
-- outcomes to 30 M trades: 93 s of a 107 s scoring job).
WITH as_of_dates AS (
    SELECT DISTINCT as_of_date
    FROM unnest(current_setting('settlement_model.as_of_dates')::date[]) AS d (as_of_date)
)
SELECT d.as_of_date, c.counterparty_id::text AS counterparty_id,
       sum(c.attempts)::float8 AS attempts, sum(c.fails)::float8 AS fails
FROM as_of_dates AS d
JOIN ops.counterparty_settlement_days AS c
    ON c.reported_on <= d.as_of_date AND c.reported_on > d.as_of_date - 90
GROUP BY d.as_of_date, c.counterparty_id
