-- The decision a run already recorded for a candidate (a retried gate task finds it here).
SELECT promotion_id, decided_at, decision, previous_champion_version, reasons, metrics, thresholds,
       evaluation_window, triggered_by, is_backfill
FROM ml.model_promotions
WHERE model_name = %(model_name)s
    AND candidate_version = %(candidate_version)s
    AND dag_run_id = %(dag_run_id)s
    AND decision = ANY(%(decisions)s)
ORDER BY promotion_id DESC
LIMIT 1
