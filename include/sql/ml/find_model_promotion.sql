-- The decision a run already recorded for a candidate, for the same answer to its approval request
-- if any (a retried gate or review task finds it here instead of recording it twice).
SELECT promotion_id, decided_at, decision, previous_champion_version, reasons, metrics, thresholds,
       evaluation_window, triggered_by, is_backfill, review_outcome, reviewed_by, reviewed_at
FROM ml.model_promotions
WHERE model_name = %(model_name)s
    AND candidate_version = %(candidate_version)s
    AND dag_run_id = %(dag_run_id)s
    AND decision = ANY(%(decisions)s)
    AND reviewed_at IS NOT DISTINCT FROM %(reviewed_at)s::timestamptz
ORDER BY promotion_id DESC
LIMIT 1
