-- Point-in-time features of the trades pending at the end of each as-of date.
--
-- Only what was known at the end of the as-of date D is used: trades booked on or before D
-- (business_date <= D), confirmation and allocation timestamps before the end of D,
-- settlement outcomes reported on or before D. "Pending at D": booked, not yet at its
-- contractual settle date (settle_date > D), not cancelled.
--
-- Parameters (set per session with set_config by the job, never formatted into this text):
--   settlement_model.as_of_dates  a date[] literal, e.g. {2026-11-20} (scoring: one date)
--   settlement_model.shard_index  this shard, 0 <= index < count
--   settlement_model.shard_count  how many shards split the trades (1 = all)
-- A trade's shard is a stable hash of its id (md5), so a rerun puts it in the same shard.
WITH as_of_dates AS (
    SELECT DISTINCT as_of_date
    FROM unnest(current_setting('settlement_model.as_of_dates')::date[]) AS d (as_of_date)
),
pending AS (
    SELECT d.as_of_date, t.*
    FROM as_of_dates AS d
    JOIN ops.trades AS t
        ON t.business_date <= d.as_of_date
        -- Settlement cycles are at most T+5 business days (ops.instruments check), so a
        -- trade booked more than 31 days before D has settled: this bound lets the
        -- planner use the business_date index.
        AND t.business_date > d.as_of_date - 31
        AND t.settle_date > d.as_of_date
    WHERE t.status <> 'cancelled'
        AND ('x' || substr(md5(t.trade_id), 1, 8))::bit(32)::bigint
            % current_setting('settlement_model.shard_count')::int
            = current_setting('settlement_model.shard_index')::int
),
-- Weekdays strictly between trade and settle date, per distinct pair (a few dozen a day): a
-- settle date is the market's cycle in its business days after the trade date, so weekdays
-- beyond cycle - 1 are market holidays inside the settlement window.
settlement_windows AS (
    SELECT w.trade_date, w.settle_date, count(d.day) FILTER (WHERE extract(ISODOW FROM d.day) < 6) AS weekdays
    FROM (SELECT DISTINCT trade_date, settle_date FROM pending) AS w
    LEFT JOIN LATERAL generate_series(w.trade_date + 1, w.settle_date - 1, INTERVAL '1 day') AS d (day) ON true
    GROUP BY w.trade_date, w.settle_date
),
-- Settlement attempts reported per counterparty and day: a trade's attempt is its 'failed'
-- row or its on-time 'settled' row (a late 'settled' row follows a 'failed' one).
counterparty_daily AS (
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
),
counterparty_trailing AS (
    SELECT d.as_of_date, c.counterparty_id, sum(c.attempts) AS attempts, sum(c.fails) AS fails
    FROM as_of_dates AS d
    JOIN counterparty_daily AS c
        ON c.reported_on <= d.as_of_date AND c.reported_on > d.as_of_date - 90
    GROUP BY d.as_of_date, c.counterparty_id
)
SELECT
    p.as_of_date,
    p.trade_id::text AS trade_id,
    p.counterparty_id::text AS counterparty_id,
    p.instrument_id::text AS instrument_id,
    p.settle_date,
    -- categorical features
    i.asset_class::text AS asset_class,
    i.market::text AS market,
    p.settlement_location::text AS settlement_location,
    p.currency::text AS currency,
    p.side::text AS side,
    p.desk::text AS desk,
    p.ssi_status::text AS ssi_status,
    c.sector::text AS counterparty_sector,
    c.country_code::text AS counterparty_country,
    (CASE WHEN c.country_code = left(p.instrument_id, 2) THEN 'domestic' ELSE 'cross_border' END)
        AS cross_border,
    -- numeric features
    i.liquidity_tier::float8 AS liquidity_tier,
    i.settlement_cycle_days::float8 AS settlement_cycle_days,
    ln(greatest(p.notional, 1))::float8 AS log_notional,
    (p.settle_date - p.as_of_date)::float8 AS days_to_settle,
    (p.settle_date - p.trade_date)::float8 AS settle_calendar_days,
    (p.business_date - p.trade_date)::float8 AS booking_delay_days,
    greatest(sw.weekdays - (i.settlement_cycle_days - 1), 0)::float8 AS holidays_in_settlement_window,
    (p.confirmed_at IS NOT NULL AND p.confirmed_at < (p.business_date + 1)::timestamp AT TIME ZONE 'UTC')::int::float8
        AS confirmed_on_booking_day,
    (p.allocated_at IS NOT NULL AND p.allocated_at < (p.business_date + 1)::timestamp AT TIME ZONE 'UTC')::int::float8
        AS allocated_on_booking_day,
    CASE WHEN p.confirmed_at < (p.as_of_date + 1)::timestamp AT TIME ZONE 'UTC'
        THEN extract(EPOCH FROM p.confirmed_at - p.booked_at)::float8 / 3600 END AS confirmation_hours,
    CASE WHEN p.allocated_at < (p.as_of_date + 1)::timestamp AT TIME ZONE 'UTC'
        THEN extract(EPOCH FROM p.allocated_at - p.booked_at)::float8 / 3600 END AS allocation_hours,
    coalesce(ct.attempts, 0)::float8 AS counterparty_attempts_90d,
    -- Smoothed towards a 3% prior worth 30 attempts, so a new counterparty is not 0% or 100%.
    ((coalesce(ct.fails, 0) + 0.9) / (coalesce(ct.attempts, 0) + 30))::float8 AS counterparty_fail_rate_90d
FROM pending AS p
JOIN ops.instruments AS i ON i.instrument_id = p.instrument_id
JOIN ops.counterparties AS c ON c.counterparty_id = p.counterparty_id
JOIN settlement_windows AS sw ON sw.trade_date = p.trade_date AND sw.settle_date = p.settle_date
LEFT JOIN counterparty_trailing AS ct
    ON ct.as_of_date = p.as_of_date AND ct.counterparty_id = p.counterparty_id
ORDER BY p.as_of_date, p.trade_id
