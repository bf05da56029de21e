-- The latest shadow comparisons: each challenger scored beside the champion on the same trades,
-- compared once their outcomes are known (recomputed nightly as outcomes arrive), newest dates first.
-- Versions are MLflow's integers as text: by length first, so version 10 sorts after version 9.
SELECT business_date, champion_version, challenger_version, scored_trades, realised_trades, fails,
       champion_roc_auc, challenger_roc_auc, champion_pr_auc, challenger_pr_auc,
       champion_brier, challenger_brier, champion_calibration_error, challenger_calibration_error,
       outcomes_known_by, computed_at
FROM ml.shadow_comparisons
WHERE model_name = %(model_name)s
ORDER BY business_date DESC, length(challenger_version) DESC, challenger_version DESC
LIMIT %(limit)s;
