/*
id: stale_champion
severity: medium
owner: mlops
description: >
  The model that scores tonight is stale or its last challenger failed: no champion was ever
  promoted, the champion was promoted (or restored by a rollback) more than max_age_days
  before the business date, or the last promotion gate decision was a rejection. Read
  ml.model_promotions for the reasons and retrain or investigate the rejected challenger.
parameters:
  model_name:
    type: text
    default: settlement_fail_risk
    description: registered model to check
  max_age_days:
    type: int
    default: 35
    description: calendar days after which a champion is stale
*/
WITH known_at AS (
    -- What was known when the date's scores were written (they name the model that scored
    -- them), else at the end of the business date (UTC): a backfill sees the past, not today.
    SELECT coalesce(
        (SELECT max(scored_at) FROM ml.trade_scores WHERE business_date = %(business_date)s),
        ((%(business_date)s::date + 1)::timestamp AT TIME ZONE 'UTC')
    ) AS instant
),
decisions AS (
    SELECT p.*
    FROM ml.model_promotions AS p
    WHERE p.model_name = %(model_name)s
      AND p.decided_at <= (SELECT instant FROM known_at)
),
champion AS (
    SELECT candidate_version AS version, decision, decided_at
    FROM decisions
    WHERE decision IN ('promoted', 'bootstrapped', 'rolled_back')
    ORDER BY decided_at DESC, promotion_id DESC
    LIMIT 1
),
last_gate AS (
    SELECT candidate_version AS version, decision, decided_at, reasons
    FROM decisions
    WHERE decision IN ('promoted', 'bootstrapped', 'rejected', 'rolled_back')
    ORDER BY decided_at DESC, promotion_id DESC
    LIMIT 1
),
state AS (
    SELECT
        c.version AS champion_version,
        (c.decided_at AT TIME ZONE 'UTC')::date AS champion_since,
        %(business_date)s::date - (c.decided_at AT TIME ZONE 'UTC')::date AS champion_age_days,
        g.version AS last_gate_version,
        g.decision AS last_gate_decision,
        g.reasons AS last_gate_reasons
    FROM (SELECT 1) AS one
    LEFT JOIN champion AS c ON true
    LEFT JOIN last_gate AS g ON true
)
SELECT
    %(model_name)s AS entity_key,
    jsonb_build_object(
        'reasons', to_jsonb(array_remove(ARRAY[
            CASE WHEN s.champion_version IS NULL THEN 'no_champion' END,
            CASE WHEN s.champion_age_days > %(max_age_days)s THEN 'champion_older_than_max_age' END,
            CASE WHEN s.last_gate_decision = 'rejected' THEN 'last_promotion_rejected' END
        ], NULL)),
        'champion_version', s.champion_version,
        'champion_since', s.champion_since,
        'champion_age_days', s.champion_age_days,
        'max_age_days', %(max_age_days)s,
        'last_gate_version', s.last_gate_version,
        'last_gate_decision', s.last_gate_decision,
        'last_gate_reasons', s.last_gate_reasons
    ) AS details
FROM state AS s
WHERE s.champion_version IS NULL
   OR s.champion_age_days > %(max_age_days)s
   OR s.last_gate_decision = 'rejected'
