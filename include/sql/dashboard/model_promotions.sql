-- Promotion-gate decisions, newest first: who is champion, who was rejected, and why.
SELECT decided_at, model_name, candidate_version, previous_champion_version, decision,
       reasons, metrics, dag_run_id, triggered_by, is_backfill
FROM ml.model_promotions
WHERE model_name = %(model_name)s
ORDER BY decided_at DESC, promotion_id DESC
LIMIT %(limit)s;
