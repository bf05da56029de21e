-- The rollback a run already decided: carried out (whatever the answer), or declined on this same
-- answer. A retried rollback task finishes it instead of deciding again; a new answer after a
-- decline (the approval asked again) decides anew.
SELECT promotion_id, candidate_version, previous_champion_version, decision, reasons
FROM ml.model_promotions
WHERE model_name = %(model_name)s
    AND dag_run_id = %(dag_run_id)s
    AND (
        decision = 'rolled_back'
        OR (decision = 'rollback_refused' AND reviewed_at IS NOT DISTINCT FROM %(reviewed_at)s::timestamptz)
    )
ORDER BY promotion_id DESC
LIMIT 1
