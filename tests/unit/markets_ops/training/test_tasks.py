"""The training DAG's task helpers that need no service: the approval task's answer read as a
review, which gate results and rollbacks ask a person, whether approval is required."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest

from include.markets_ops.training import promotion, tasks
from include.markets_ops.training.promotion import Review

AT = "2026-12-02T09:30:00+00:00"


def test_the_hitl_result_becomes_a_review() -> None:
    answered_at = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
    approved = tasks.review_of(
        {
            "chosen_options": ["Approve"],
            "params_input": {"comment": "  checked the window  "},
            "responded_at": answered_at,
            "responded_by_user": {"id": "op", "name": "op"},
        }
    )
    assert approved == Review(promotion.APPROVED, "op", AT, "checked the window")
    rejected = tasks.review_of(
        {
            "chosen_options": ["Reject"],
            "params_input": {},
            "responded_at": AT,
            "responded_by_user": {"id": "7", "name": "risk.officer"},
        }
    )
    assert rejected == Review(promotion.REVIEW_REJECTED, "risk.officer", AT, "")
    # The scheduler resolves an unanswered request with its default (Reject) and no user.
    unanswered = tasks.review_of(
        {"chosen_options": ["Reject"], "params_input": {"comment": ""}, "responded_at": answered_at,
         "responded_by_user": None}
    )  # fmt: skip
    assert unanswered == Review(promotion.TIMED_OUT, None, AT, "")


def test_only_a_pending_gate_asks_for_approval() -> None:
    assert tasks.needs_approval({"decision": promotion.PENDING_APPROVAL})
    assert not tasks.needs_approval({"decision": promotion.PROMOTED})
    assert not tasks.needs_approval({"decision": promotion.REJECTED})


@pytest.mark.parametrize(
    ("value", "required"),
    [(None, True), ("true", True), ("false", False), (" False ", False), ("0", False), ("off", False)],
)
def test_approval_is_required_unless_turned_off_on_purpose(
    monkeypatch: pytest.MonkeyPatch, value: str | None, required: bool
) -> None:
    monkeypatch.setattr(
        "airflow.sdk.Variable.get", lambda key, default=None: default if value is None else value
    )
    assert tasks.approval_required() is required


def test_only_a_rollback_without_an_emergency_reason_asks_for_approval() -> None:
    assert tasks.needs_rollback_approval({"emergency_reason": ""})
    assert not tasks.needs_rollback_approval({"emergency_reason": "scores all zero tonight"})
    assert tasks.choose_path("rollback") == "plan_rollback"
    assert tasks.choose_path("train") == "build_training_set"
    assert tasks.choose_path("challenger") == "build_training_set"  # a fresh window to gate it on
    assert tasks.choose_candidate("train") == "train_model"
    assert tasks.choose_candidate("challenger") == "evaluate_challenger"


def _shadow_day(fails: int) -> dict:
    return {"realised_trades": 1000, "fails": fails, "champion_roc_auc": 0.74, "challenger_roc_auc": 0.75}


@pytest.mark.parametrize(
    ("aliases", "record", "ready"),
    [
        ({"champion": "4", "challenger": "5"}, [_shadow_day(60)] * 3, "5"),
        ({"champion": "4", "challenger": "5"}, [_shadow_day(60)] * 2, None),  # 2 days of 3
        ({"champion": "4", "challenger": "5"}, [_shadow_day(20)] * 3, None),  # 60 fails of 100
        ({"champion": "4", "challenger": None}, [], None),
        ({"champion": None, "challenger": "5"}, [], None),
    ],
)
def test_a_scheduled_run_gates_the_challenger_once_its_shadow_record_is_long_enough(
    aliases: dict, record: list, ready: str | None
) -> None:

    thresholds = promotion.Thresholds(0.7, 0.01, 0.03, 100, shadow_min_days=3, shadow_min_fails=100)
    with (
        mock.patch("include.markets_ops.airflow.connections.mlflow_client"),
        mock.patch("include.markets_ops.airflow.connections.postgres_url", return_value="postgresql://w"),
        mock.patch.object(tasks, "thresholds_from_variables", return_value=thresholds),
        mock.patch(
            "include.markets_ops.services.model_registry.alias_version",
            side_effect=lambda client, alias, model_name="m": aliases[alias],
        ),
        mock.patch("include.markets_ops.scoring.shadow.evidence", return_value=record) as evidence,
    ):
        assert tasks.challenger_ready_for_the_gate() == ready
    if aliases["champion"] and aliases["challenger"]:
        evidence.assert_called_once_with("postgresql://w", "settlement_fail_risk", "5", "4")
