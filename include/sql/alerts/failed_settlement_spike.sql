/*
id: failed_settlement_spike
severity: high
owner: settlement-ops
description: >
  A counterparty's settlement fails reported on the business date are far above its usual
  level: at least min_fails fails, and a z-score of at least min_z_score against its daily
  fails over the previous trailing_days business days (days without fails count as 0; the
  standard deviation is floored at min_stddev so a quiet history does not make every fail a
  spike). Check the counterparty's SSIs and inventory, and call their operations desk.
parameters:
  trailing_days:
    type: int
    default: 20
    description: business days before the business date that form the baseline
  min_z_score:
    type: float
    default: 3.0
    description: z-score from which today's fails are a spike
  min_fails:
    type: int
    default: 3
    description: fewest fails today for an alert
  min_stddev:
    type: float
    default: 1.0
    description: floor of the baseline's standard deviation, in fails per day
*/
WITH baseline_days AS (
    SELECT day
    FROM unnest((%(recent_business_days)s::date[])[1:%(trailing_days)s]) AS d (day)
),
fails AS (
    SELECT o.business_date, t.counterparty_id, count(*) AS fails
    FROM ops.settlement_outcomes AS o
    JOIN ops.trades AS t ON t.trade_id = o.trade_id
    WHERE o.outcome = 'failed'
      AND o.business_date >= (%(recent_business_days)s::date[])[%(trailing_days)s]
      AND o.business_date <= %(business_date)s
    GROUP BY o.business_date, t.counterparty_id
),
today AS (
    SELECT counterparty_id, fails
    FROM fails
    WHERE business_date = %(business_date)s
      AND fails >= %(min_fails)s
),
baseline AS (
    SELECT
        t.counterparty_id,
        avg(coalesce(f.fails, 0)) AS mean_fails,
        coalesce(stddev_samp(coalesce(f.fails, 0)), 0) AS stddev_fails,
        count(*) AS baseline_days
    FROM today AS t
    CROSS JOIN baseline_days AS d
    LEFT JOIN fails AS f
        ON f.counterparty_id = t.counterparty_id
       AND f.business_date = d.day
    GROUP BY t.counterparty_id
),
scored AS (
    SELECT
        t.counterparty_id,
        t.fails,
        b.mean_fails,
        b.stddev_fails,
        b.baseline_days,
        (t.fails - b.mean_fails) / greatest(b.stddev_fails, %(min_stddev)s::numeric) AS z_score
    FROM today AS t
    JOIN baseline AS b USING (counterparty_id)
)
SELECT
    counterparty_id AS entity_key,
    jsonb_build_object(
        'fails_today', fails,
        'baseline_mean', round(mean_fails, 3),
        'baseline_stddev', round(stddev_fails, 3),
        'baseline_days', baseline_days,
        'z_score', round(z_score, 2),
        'min_z_score', %(min_z_score)s
    ) AS details
FROM scored
WHERE z_score >= %(min_z_score)s
ORDER BY counterparty_id
