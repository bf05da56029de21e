-- One audit row per promotion-gate decision, rollback, or answer to an approval request
-- (ml.model_promotions).
INSERT INTO ml.model_promotions (
    model_name, candidate_version, previous_champion_version, decision, reasons, metrics,
    thresholds, evaluation_window, dag_id, dag_run_id, triggered_by, is_backfill,
    review_outcome, reviewed_by, reviewed_at, review_comment
) VALUES (
    %(model_name)s, %(candidate_version)s, %(previous_champion_version)s, %(decision)s, %(reasons)s,
    %(metrics)s, %(thresholds)s, %(evaluation_window)s, %(dag_id)s, %(dag_run_id)s, %(triggered_by)s,
    %(is_backfill)s, %(review_outcome)s, %(reviewed_by)s, %(reviewed_at)s, %(review_comment)s
)
RETURNING promotion_id, decided_at
