-- The challenger's shadow record beside the champion, latest dates first: what the promotion
-- gate judges and the approval request shows (its index on model_name, challenger_version, business_date).
SELECT
    business_date, champion_version, challenger_version, scored_trades, realised_trades, fails,
    champion_roc_auc, challenger_roc_auc, champion_pr_auc, challenger_pr_auc,
    champion_brier, challenger_brier, champion_calibration_error, challenger_calibration_error,
    outcomes_known_by
FROM ml.shadow_comparisons
WHERE model_name = %(model_name)s
    AND challenger_version = %(challenger_version)s
    AND champion_version = %(champion_version)s
ORDER BY business_date DESC
LIMIT %(max_days)s
