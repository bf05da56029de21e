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
    -- The window from the first as-of date - 90 to the last: the dates come sorted
    -- (features.feature_parameters), so these are the array's first and last elements.
    -- Plain expressions, not subqueries: the planner then estimates the window's rows and
    -- joins the trades in one pass (with min()/max() subqueries it guessed a few thousand
    -- rows and looked up ~450,000 trades one by one: 3 s instead of 1 s).
    WHERE o.business_date > (current_setting('settlement_model.as_of_dates')::date[])[1] - 90
        AND o.business_date <= (current_setting('settlement_model.as_of_dates')::date[])[
            array_upper(current_setting('settlement_model.as_of_dates')::date[], 1)
        ]
    GROUP BY t.counterparty_id, o.business_date
)
SELECT d.as_of_date, c.counterparty_id::text AS counterparty_id,
       sum(c.attempts)::float8 AS attempts, sum(c.fails)::float8 AS fails
FROM as_of_dates AS d
JOIN daily AS c ON c.reported_on <= d.as_of_date AND c.reported_on > d.as_of_date - 90
GROUP BY d.as_of_date, c.counterparty_id
