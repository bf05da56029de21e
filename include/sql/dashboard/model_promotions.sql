-- Promotion-gate decisions, newest first: who is champion, who was rejected, why, and who approved.
SELECT decided_at, model_name, candidate_version, previous_champion_version, decision,
       reasons, metrics, dag_run_id, triggered_by, is_backfill, review_outcome, reviewed_by,
       reviewed_at, review_comment
FROM ml.model_promotions
WHERE model_name = %(model_name)s
ORDER BY decided_at DESC, promotion_id DESC
LIMIT %(limit)s;
