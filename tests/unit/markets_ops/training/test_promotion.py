"""The promotion gate's rule, case by case (the registry and audit side: tests/integration)."""

from __future__ import annotations

from typing import Any

from include.markets_ops.training import promotion
from include.markets_ops.training.promotion import Thresholds, decide

THRESHOLDS = Thresholds(
    min_roc_auc=0.7, max_auc_regression=0.01, max_calibration_error=0.03, min_positives=100
)


def evaluation(
    auc: float,
    *,
    ece: float = 0.01,
    positives: int = 400,
    baseline_auc: float | None = None,
    baseline_version: str | None = None,
    baseline_error: str | None = None,
) -> dict[str, Any]:
    return {
        "challenger_version": "5",
        "positives": positives,
        "challenger": {"roc_auc": auc, "calibration_error": ece},
        "baseline_version": baseline_version,
        "baseline": {"roc_auc": baseline_auc, "calibration_error": 0.01}
        if baseline_auc is not None
        else None,
        "baseline_error": baseline_error,
    }


def test_a_first_model_that_passes_bootstraps_the_champion() -> None:
    decision = decide(
        evaluation(0.8, baseline_error="no alias 'champion'"), THRESHOLDS, None, is_backfill=False
    )
    assert decision.decision == promotion.BOOTSTRAPPED
    assert (decision.champion_before, decision.champion_after) == (None, "5")


def test_a_first_model_below_the_absolute_thresholds_is_rejected() -> None:
    decision = decide(evaluation(0.65, ece=0.05, positives=40), THRESHOLDS, None, is_backfill=False)
    assert decision.decision == promotion.REJECTED
    assert decision.champion_after is None
    reasons = " | ".join(decision.reasons)
    assert "only 40 failed trades" in reasons
    assert "ROC AUC 0.6500 is below the minimum 0.7000" in reasons
    assert "calibration error 0.0500 is above the maximum 0.0300" in reasons


def test_a_better_challenger_is_promoted() -> None:
    decision = decide(
        evaluation(0.82, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", is_backfill=False
    )
    assert decision.decision == promotion.PROMOTED
    assert (decision.champion_before, decision.champion_after) == ("4", "5")


def test_a_slightly_worse_challenger_within_the_allowed_regression_is_promoted() -> None:
    decision = decide(evaluation(0.795, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", False)
    assert decision.decision == promotion.PROMOTED


def test_a_worse_challenger_is_rejected_and_the_champion_stays() -> None:
    decision = decide(evaluation(0.75, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", False)
    assert decision.decision == promotion.REJECTED
    assert decision.champion_after == "4"
    assert "0.0500 below the champion's (version 4: 0.8000)" in decision.reasons[0]


def test_a_backfill_never_promotes() -> None:
    decision = decide(
        evaluation(0.9, baseline_auc=0.8, baseline_version="4"), THRESHOLDS, "4", is_backfill=True
    )
    assert decision.decision == promotion.EVALUATED_ONLY
    assert decision.champion_after == "4"
    assert "backfill runs never promote" in decision.reasons
    assert decide(evaluation(0.9), THRESHOLDS, None, is_backfill=True).champion_after is None


def test_an_evaluation_against_another_version_is_evaluation_only() -> None:
    decision = decide(evaluation(0.9, baseline_auc=0.7, baseline_version="2"), THRESHOLDS, "4", False)
    assert decision.decision == promotion.EVALUATED_ONLY
    assert "not the champion (version 4)" in decision.reasons[0]


def test_a_champion_that_cannot_be_evaluated_leaves_the_absolute_checks_to_decide() -> None:
    error = "the input schema of settlement_fail_risk version 4 does not match"
    passing = decide(evaluation(0.8, baseline_error=error), THRESHOLDS, "4", False)
    assert passing.decision == promotion.PROMOTED
    assert error in passing.reasons[0]
    assert (
        decide(evaluation(0.6, baseline_error=error), THRESHOLDS, "4", False).decision == promotion.REJECTED
    )


def test_every_decision_event_has_a_deterministic_key_and_flags_rejections() -> None:
    run = promotion.RunInfo("settlement_risk_training", "manual__1", "admin", is_backfill=False)
    rejected = decide(evaluation(0.6), THRESHOLDS, None, False)
    key, value = promotion.event(
        "settlement_fail_risk", rejected, run, evaluation=evaluation(0.6), thresholds=THRESHOLDS
    )
    assert key == "settlement_fail_risk/manual__1/5/rejected"
    assert value["alert"] is True
    assert value["thresholds"]["min_roc_auc"] == 0.7
    assert (key, value) == promotion.event(
        "settlement_fail_risk", rejected, run, evaluation=evaluation(0.6), thresholds=THRESHOLDS
    )
