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
