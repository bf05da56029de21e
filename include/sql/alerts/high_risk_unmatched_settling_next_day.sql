/*
id: high_risk_unmatched_settling_next_day
severity: high
owner: settlement-ops
description: >
  Trades due to settle by the next business day that tonight's model scores as likely to fail
  (score at or above min_score) and whose confirmation is not matched: the counterparty had not
  confirmed the trade by the end of the business date, or the custodian's statement of the
  date disagrees with it (an open reconciliation break). Chase the confirmation or fix the
  break before the settlement cut-off.
parameters:
  min_score:
    type: float
    default: 0.7
    description: fail-risk score from which a trade is high risk
*/
WITH risky AS (
    SELECT s.trade_id, s.score, s.risk_band, s.model_version
    FROM ml.trade_scores AS s
    WHERE s.business_date = %(business_date)s
      AND s.score >= %(min_score)s
),
due AS (
    SELECT
        r.*,
        t.settle_date, t.counterparty_id, t.instrument_id, t.notional, t.currency, t.confirmed_at,
        -- Confirmed when the counterparty's confirmation arrived before the end of the business date (UTC).
        (t.confirmed_at IS NOT NULL
            AND t.confirmed_at < ((%(business_date)s::date + 1)::timestamp AT TIME ZONE 'UTC')) AS confirmed
    FROM risky AS r
    JOIN ops.trades AS t ON t.trade_id = r.trade_id
    WHERE t.settle_date > %(business_date)s
      AND t.settle_date <= %(next_business_date)s
      AND t.status <> 'cancelled'
),
breaks AS (
    SELECT b.trade_ref, jsonb_agg(b.break_type ORDER BY b.break_type) AS open_breaks
    FROM reporting.recon_breaks AS b
    WHERE b.business_date = %(business_date)s
      AND b.status = 'open'
      AND b.trade_ref IN (SELECT trade_id FROM due)
    GROUP BY b.trade_ref
)
SELECT
    d.trade_id AS entity_key,
    jsonb_build_object(
        'score', round(d.score::numeric, 4),
        'risk_band', d.risk_band,
        'model_version', d.model_version,
        'settle_date', d.settle_date,
        'counterparty_id', d.counterparty_id,
        'instrument_id', d.instrument_id,
        'notional', d.notional,
        'currency', d.currency,
        'counterparty_confirmed', d.confirmed,
        'open_breaks', coalesce(b.open_breaks, '[]'::jsonb)
    ) AS details
FROM due AS d
LEFT JOIN breaks AS b ON b.trade_ref = d.trade_id
WHERE NOT d.confirmed
   OR b.trade_ref IS NOT NULL
ORDER BY d.trade_id
