/*
id: scoring_coverage
severity: critical
owner: mlops
description: >
  Tonight's scores cover too few of the pending trades: the share of the business date's
  pending trades with a score in ml.trade_scores is below min_share (no scores at all counts).
  Pending here is what the scoring job scores: booked on or before the business date, not
  cancelled, contractual settle date after it. Check the scoring DAG's run for the date and
  rerun it.
parameters:
  min_share:
    type: float
    default: 0.99
    description: smallest acceptable share of pending trades that have a score (0 to 1)
*/
WITH pending AS (
    -- The scoring job's population (model_pod features.sql): settle_date > D keeps it to the
    -- last few days of bookings (ix_trades_settle_date).
    SELECT t.trade_id
    FROM ops.trades AS t
    WHERE t.settle_date > %(business_date)s
      AND t.business_date <= %(business_date)s
      AND t.status <> 'cancelled'
),
coverage AS (
    SELECT count(*) AS pending_trades, count(s.trade_id) AS scored_trades
    FROM pending AS p
    LEFT JOIN ml.trade_scores AS s
        ON s.business_date = %(business_date)s
       AND s.trade_id = p.trade_id
)
SELECT
    'settlement_fail_risk' AS entity_key,
    jsonb_build_object(
        'pending_trades', c.pending_trades,
        'scored_trades', c.scored_trades,
        'unscored_trades', c.pending_trades - c.scored_trades,
        'share_scored', round(c.scored_trades::numeric / c.pending_trades, 4),
        'min_share', %(min_share)s
    ) AS details
FROM coverage AS c
WHERE c.pending_trades > 0
  AND c.scored_trades < %(min_share)s * c.pending_trades
