-- A shadow date's comparison, replaced only by one that knows as many outcomes or more: a
-- rerun of the same night writes the same row, a backfill of an earlier night (which knew fewer
-- outcomes) never replaces a later night's.
INSERT INTO ml.shadow_comparisons (
    business_date, model_name, champion_version, challenger_version,
    scored_trades, realised_trades, fails,
    champion_roc_auc, challenger_roc_auc, champion_pr_auc, challenger_pr_auc,
    champion_brier, challenger_brier, champion_calibration_error, challenger_calibration_error,
    outcomes_known_by, computed_at, scoring_run_id, scores_tables, inputs_snapshot
) VALUES (
    %(business_date)s, %(model_name)s, %(champion_version)s, %(challenger_version)s,
    %(scored_trades)s, %(realised_trades)s, %(fails)s,
    %(champion_roc_auc)s, %(challenger_roc_auc)s, %(champion_pr_auc)s, %(challenger_pr_auc)s,
    %(champion_brier)s, %(challenger_brier)s, %(champion_calibration_error)s, %(challenger_calibration_error)s,
    %(outcomes_known_by)s, now(), %(scoring_run_id)s, %(scores_tables)s, %(inputs_snapshot)s
)
ON CONFLICT (business_date, model_name, challenger_version) DO UPDATE SET
    champion_version = excluded.champion_version,
    scored_trades = excluded.scored_trades,
    realised_trades = excluded.realised_trades,
    fails = excluded.fails,
    champion_roc_auc = excluded.champion_roc_auc,
    challenger_roc_auc = excluded.challenger_roc_auc,
    champion_pr_auc = excluded.champion_pr_auc,
    challenger_pr_auc = excluded.challenger_pr_auc,
    champion_brier = excluded.champion_brier,
    challenger_brier = excluded.challenger_brier,
    champion_calibration_error = excluded.champion_calibration_error,
    challenger_calibration_error = excluded.challenger_calibration_error,
    outcomes_known_by = excluded.outcomes_known_by,
    computed_at = excluded.computed_at,
    scoring_run_id = excluded.scoring_run_id,
    scores_tables = excluded.scores_tables,
    inputs_snapshot = excluded.inputs_snapshot
WHERE excluded.outcomes_known_by >= ml.shadow_comparisons.outcomes_known_by
RETURNING business_date
