-- Each counterparty's settlement record over the 90 days up to each as-of date D, from the
-- outcomes reported on or before D (never later: what was known at the end of D).
-- A trade's settlement attempt is its 'failed' row or its on-time 'settled' row (a late
-- 'settled' row follows a 'failed' one). Parameters: settlement_model.as_of_dates.
WITH as_of_dates AS (
    SELECT DISTINCT as_of_date
    FROM unnest(current_setting('settlement_model.as_of_dates')::date[]) AS d (as_of_date)
),
daily AS (
    SELECT
        t.counterparty_id,
        o.business_date AS reported_on,
        count(*) FILTER (WHERE o.outcome = 'failed' OR o.days_late = 0) AS attempts,
        count(*) FILTER (WHERE o.outcome = 'failed') AS fails
    FROM ops.settlement_outcomes AS o
    JOIN ops.trades AS t ON t.trade_id = o.trade_id
    WHERE o.business_date > (SELECT min(as_of_date) FROM as_of_dates) - 90
        AND o.business_date <= (SELECT max(as_of_date) FROM as_of_dates)
    GROUP BY t.counterparty_id, o.business_date
)
SELECT d.as_of_date, c.counterparty_id::text AS counterparty_id,
       sum(c.attempts)::float8 AS attempts, sum(c.fails)::float8 AS fails
FROM as_of_dates AS d
JOIN daily AS c ON c.reported_on <= d.as_of_date AND c.reported_on > d.as_of_date - 90
GROUP BY d.as_of_date, c.counterparty_id
