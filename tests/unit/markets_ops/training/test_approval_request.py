"""What the approver reads: the request's subject and body from the gate's pending result."""

from __future__ import annotations

from typing import Any

from include.markets_ops.training import approval_request

GATED: dict[str, Any] = {
    "model_name": "settlement_fail_risk",
    "candidate_version": "7",
    "champion_before": "6",
    "dag_run_id": "manual__2026-12-02",
    "triggered_by": "admin",
    "reasons": ["passed every check"],
    "thresholds": {"min_roc_auc": 0.7, "max_auc_regression": 0.01},
    "evaluation_window": {"start": "2026-11-02", "end": "2026-11-13", "labels_known_by": "2026-11-20"},
    "challenger_metrics": {"roc_auc": 0.7412, "brier": 0.0612, "calibration_error": 0.0021, "rows": 31000.0},
    "champion_metrics": {"roc_auc": 0.7388, "brier": 0.0619, "calibration_error": 0.0034},
}


def url(version: str) -> str:
    return f"http://mlflow/#/models/settlement_fail_risk/versions/{version}"


def test_the_subject_says_what_approving_does() -> None:
    assert approval_request.subject(GATED) == (
        "Promote settlement_fail_risk version 7? It would replace version 6 as champion."
    )
    assert approval_request.subject({**GATED, "champion_before": None}).endswith("become the first champion.")


def test_the_body_shows_both_models_side_by_side_with_links_and_the_checks() -> None:
    body = approval_request.body(GATED, url)
    assert "| ROC AUC | 0.7412 | 0.7388 | higher |" in body
    assert "| Brier score | 0.0612 | 0.0619 | lower |" in body
    assert "| Calibration error | 0.0021 | 0.0034 | lower |" in body
    assert "| Trades in the window | 31,000 | same trades | |" in body
    assert "PR AUC" not in body  # a metric the evaluation did not produce is left out
    assert "[version 7](http://mlflow/#/models/settlement_fail_risk/versions/7)" in body
    assert "[version 6](http://mlflow/#/models/settlement_fail_risk/versions/6)" in body
    assert "from 2026-11-02 to 2026-11-13 (outcomes known by 2026-11-20)" in body
    assert "minimum ROC AUC 0.7" in body
    assert "- passed every check" in body
    assert "four eyes" in body


def test_without_a_champion_the_body_says_so() -> None:
    body = approval_request.body({**GATED, "champion_before": None, "champion_metrics": None}, url)
    assert "- Champion: none yet" in body
    assert "| ROC AUC | 0.7412 | n/a | higher |" in body


def _shadow_day(
    business_date: str, realised: int, fails: int, champion_auc: float | None, challenger_auc: float | None
) -> dict[str, Any]:
    """One ml.shadow_comparisons row as the gate passes it on (JSON-ready)."""
    return {
        "business_date": business_date,
        "champion_version": "6",
        "challenger_version": "7",
        "scored_trades": realised + 100,
        "realised_trades": realised,
        "fails": fails,
        "champion_roc_auc": champion_auc,
        "challenger_roc_auc": challenger_auc,
        "champion_pr_auc": 0.21 if fails else None,
        "challenger_pr_auc": 0.2345 if fails else None,
        "champion_brier": 0.061,
        "challenger_brier": 0.0598,
        "champion_calibration_error": 0.003,
        "challenger_calibration_error": 0.0025,
        "outcomes_known_by": "2026-12-01",
    }


SHADOW = [  # latest first, as promotion.with_shadow_record gives it
    _shadow_day("2026-11-27", 3000, 0, None, None),  # no fails yet: no ROC AUC, not counted
    _shadow_day("2026-11-26", 1000, 60, 0.70, 0.74),
    _shadow_day("2026-11-25", 3000, 140, 0.74, 0.74),
]
SHADOW_THRESHOLDS = {"shadow_min_days": 2, "shadow_min_fails": 100, "shadow_max_auc_gap": 0.01}


def test_the_shadow_record_is_a_table_oldest_first_with_dashes_where_undefined_and_a_summary() -> None:
    gated = {**GATED, "shadow": SHADOW, "thresholds": {**GATED["thresholds"], **SHADOW_THRESHOLDS}}
    body = approval_request.body(gated, url)
    assert (
        "| 2026-11-25 | 3,000 | 140 | 0.7400 / 0.7400 | 0.2100 / 0.2345 | 0.0610 / 0.0598 | 0.0030 / 0.0025 |"
        in body
    )
    assert "| 2026-11-27 | 3,000 | 0 | – / – | – / – | 0.0610 / 0.0598 | 0.0030 / 0.0025 |" in body
    assert body.index("| 2026-11-25 |") < body.index("| 2026-11-26 |") < body.index("| 2026-11-27 |")
    # Weighted as the gate weighs: (0.70 * 1000 + 0.74 * 3000) / 4000 = 0.73; the no-fail day left out.
    assert "**Shadow record**: 2 business days with realised fails, 200 fails in all" in body
    assert "champion 0.7300, challenger 0.7400" in body
    assert "at least 2 days and 100 fails, and the challenger at most 0.01 below the champion" in body
    assert "minimum realised failed trades in shadow 100" in body  # the checks name the thresholds
    assert body.index("| Metric |") < body.index("**Shadow record**") < body.index("**The gate's checks**")


def test_an_empty_shadow_record_says_there_is_none_yet() -> None:
    body = approval_request.body({**GATED, "shadow": []}, url)
    assert "No shadow record yet beside this champion (version 6)" in body
    assert "| Business date |" not in body


def test_without_a_shadow_check_the_body_says_nothing_of_it() -> None:
    for gated in (GATED, {**GATED, "shadow": None}):
        assert "hadow" not in approval_request.body(gated, url)


def test_the_rollback_request_names_both_versions_and_the_emergency_way() -> None:
    planned = {
        "model_name": "settlement_fail_risk",
        "champion": "7",
        "restore": "6",
        "triggered_by": "admin",
        "dag_run_id": "manual__r",
    }
    assert approval_request.rollback_subject(planned) == (
        "Roll back settlement_fail_risk? The champion would go from version 7 back to version 6."
    )
    body = approval_request.rollback_body(planned, url)
    assert "[version 7](http://mlflow/#/models/settlement_fail_risk/versions/7)" in body
    assert "[version 6](http://mlflow/#/models/settlement_fail_risk/versions/6)" in body
    assert "Asked by admin in run `manual__r`" in body
    assert "emergency_rollback_reason" in body
