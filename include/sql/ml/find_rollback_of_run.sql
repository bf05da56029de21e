-- The rollback a run already carried out (a retried rollback task finishes it instead of redoing it).
SELECT promotion_id, candidate_version, previous_champion_version
FROM ml.model_promotions
WHERE model_name = %(model_name)s AND dag_run_id = %(dag_run_id)s AND decision = 'rolled_back'
ORDER BY promotion_id DESC
LIMIT 1
