"""The promotion gate on the real registry, warehouse and Kafka, with models the real jobs train:
a first model bootstraps the champion, a better one is promoted, a deliberately worse one is
rejected, a backfill never promotes, a retried gate finishes its own decision, a pass waits for a
person's approval (timed out, rejected, refused by the four-eyes rule, then approved), a rollback
restores the previous champion, and every decision is audited and published."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from settlement_model import evaluation

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.kafka import find_messages
from include.markets_ops.services.model_registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION, alias_version
from include.markets_ops.services.topics import MODEL_EVENTS
from include.markets_ops.training import promotion
from tests.support.model_stack import TRAINING_DATE, train

THRESHOLDS = promotion.Thresholds(
    min_roc_auc=0.6, max_auc_regression=0.01, max_calibration_error=0.1, min_positives=50
)
# Crippled: without the SSI status and the confirmation it cannot see the strongest drivers.
WEAK = {"ignore_features": ("ssi_status", "confirmed_on_booking_day", "confirmation_hours")}


def run_info(name: str, backfill: bool = False) -> promotion.RunInfo:
    return promotion.RunInfo("settlement_risk_training", f"pytest__{name}", "pytest", is_backfill=backfill)


@pytest.fixture(scope="module")
def services(stack: dict[str, str], mlflow_client: Any, model_name: str) -> promotion.Services:
    return promotion.Services(
        mlflow_client,
        stack["POSTGRES_URL"],
        kafka_client_of(stack, "pipelines"),
        model_name,
    )


def audit_rows(stack: dict[str, str], model_name: str) -> list[dict[str, Any]]:
    with psycopg.connect(stack["REPORTING_READER_URL"], row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT * FROM ml.model_promotions WHERE model_name = %s ORDER BY promotion_id", (model_name,)
        ).fetchall()


def aliases(mlflow_client: Any, model_name: str) -> dict[str, str | None]:
    return {
        alias: alias_version(mlflow_client, alias, model_name)
        for alias in (CHAMPION, PREVIOUS_CHAMPION, CHALLENGER)
    }


@pytest.mark.usefixtures("snapshot")
def test_the_gate_through_a_models_life(
    stack: dict[str, str], reader_env: Any, services: promotion.Services
) -> None:
    mlflow_client, model_name = services.mlflow_client, services.model_name
    # 1. The first model: no champion yet; it passes the absolute thresholds and bootstraps.
    weak = train(reader_env, **WEAK)
    first = evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    assert first["challenger_version"] == weak
    assert first["baseline"] is None
    bootstrapped = promotion.run_gate(
        services, weak, THRESHOLDS, run_info("bootstrap"), approval_required=False
    )
    assert bootstrapped["decision"] == promotion.BOOTSTRAPPED
    assert aliases(mlflow_client, model_name) == {CHAMPION: weak, PREVIOUS_CHAMPION: None, CHALLENGER: None}

    # 2. A better model, evaluated against the champion on the same window: promoted.
    full = train(reader_env)
    compared = evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    assert (compared["challenger_version"], compared["baseline_version"]) == (full, weak)
    assert compared["challenger"]["roc_auc"] > compared["baseline"]["roc_auc"] + 0.05
    promoted = promotion.run_gate(services, full, THRESHOLDS, run_info("better"), approval_required=False)
    assert promoted["decision"] == promotion.PROMOTED
    assert aliases(mlflow_client, model_name) == {CHAMPION: full, PREVIOUS_CHAMPION: weak, CHALLENGER: None}
    tags = mlflow_client.get_model_version(model_name, full).tags
    assert tags["gate.decision"] == promotion.PROMOTED
    assert tags["gate.dag_run_id"] == "pytest__better"
    assert json.loads(tags[evaluation.EVALUATION_TAG])["baseline_version"] == weak

    # 3. A deliberately worse challenger: rejected, parked as challenger; the champion stays.
    worse = train(reader_env, seed=8, **WEAK)
    evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    rejected = promotion.run_gate(services, worse, THRESHOLDS, run_info("worse"), approval_required=True)
    assert rejected["decision"] == promotion.REJECTED
    assert rejected["alert"] is True
    assert "below the champion's" in rejected["reasons"][0]
    assert aliases(mlflow_client, model_name) == {CHAMPION: full, PREVIOUS_CHAMPION: weak, CHALLENGER: worse}

    # 4. A backfill never promotes, even a model that would pass.
    backfilled_version = train(reader_env, seed=9)
    evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    backfill = promotion.run_gate(
        services, backfilled_version, THRESHOLDS, run_info("backfill", backfill=True), approval_required=True
    )
    assert backfill["decision"] == promotion.EVALUATED_ONLY
    assert "backfill runs never promote" in backfill["reasons"]
    assert aliases(mlflow_client, model_name)[CHAMPION] == full

    # 5. A retried gate task finishes the decision it took: same audit row, nothing moves.
    retried = promotion.run_gate(services, full, THRESHOLDS, run_info("better"), approval_required=False)
    assert retried["promotion_id"] == promoted["promotion_id"]
    assert aliases(mlflow_client, model_name)[CHAMPION] == full

    # 6. With approval required, a pass moves nothing and records nothing until a person answers.
    approved_version = train(reader_env, seed=10)
    evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    asked = run_info("approval")
    pending = promotion.run_gate(services, approved_version, THRESHOLDS, asked, approval_required=True)
    assert (pending["decision"], pending["event_key"], pending["promotion_id"]) == (
        promotion.PENDING_APPROVAL,
        None,
        None,
    )
    assert aliases(mlflow_client, model_name)[CHAMPION] == full
    assert (
        promotion.run_gate(services, approved_version, THRESHOLDS, asked, approval_required=True)["decision"]
        == promotion.PENDING_APPROVAL
    )  # a retried gate waits for the same answer

    def answer(outcome: str, by: str | None, at: str, comment: str = "") -> dict[str, Any]:
        review = promotion.Review(outcome, reviewed_by=by, reviewed_at=at, comment=comment)
        return promotion.run_review(services, approved_version, THRESHOLDS, asked, review)

    unanswered = answer(promotion.TIMED_OUT, None, "2026-12-02T10:00:00+00:00")
    declined_promotion = answer(
        promotion.REVIEW_REJECTED, "op", "2026-12-02T11:00:00+00:00", "wait for month end"
    )
    own_run = answer(promotion.APPROVED, "pytest", "2026-12-02T12:00:00+00:00", "looks good")
    assert [d["decision"] for d in (unanswered, declined_promotion, own_run)] == [promotion.REJECTED] * 3
    assert unanswered["reasons"][-1] == "no approver answered the approval request before it timed out"
    assert declined_promotion["reasons"][-1] == "rejected by op: wait for month end"
    assert "four eyes" in own_run["reasons"][-1]
    assert aliases(mlflow_client, model_name) == {
        CHAMPION: full,
        PREVIOUS_CHAMPION: weak,
        CHALLENGER: approved_version,
    }
    approved = answer(promotion.APPROVED, "op", "2026-12-02T13:00:00+00:00", "checked the window")
    assert (approved["decision"], approved["champion_after"]) == (promotion.PROMOTED, approved_version)
    assert approved["review"] == {
        "outcome": promotion.APPROVED,
        "reviewed_by": "op",
        "reviewed_at": "2026-12-02T13:00:00+00:00",
        "comment": "checked the window",
    }
    assert approved["reasons"][-1] == "approved by op: checked the window"
    assert aliases(mlflow_client, model_name) == {
        CHAMPION: approved_version,
        PREVIOUS_CHAMPION: full,
        CHALLENGER: None,
    }
    tags = mlflow_client.get_model_version(model_name, approved_version).tags
    assert (tags["review.outcome"], tags["review.reviewed_by"], tags["review.comment"]) == (
        promotion.APPROVED,
        "op",
        "checked the window",
    )
    retried_review = answer(promotion.APPROVED, "op", "2026-12-02T13:00:00+00:00", "checked the window")
    assert retried_review["promotion_id"] == approved["promotion_id"]

    # 7. Rollback: declined by the approver, nothing moves; approved, the previous champion is
    # back, audited; a retry finishes it; a second rollback has nowhere to go.
    def rollback(name: str, review: promotion.Review) -> dict[str, Any]:
        return promotion.run_rollback(services, run_info(name), review, planned_champion=approved_version)

    declined = rollback(
        "rollback-declined",
        promotion.Review(promotion.REVIEW_REJECTED, "op", "2026-12-02T14:00:00+00:00", "keep it"),
    )
    assert (declined["decision"], declined["champion_after"]) == (
        promotion.ROLLBACK_REFUSED,
        approved_version,
    )
    assert declined["reasons"] == ["rollback not carried out: rejected by op: keep it"]
    assert aliases(mlflow_client, model_name)[CHAMPION] == approved_version
    asked = promotion.Review(promotion.APPROVED, "op", "2026-12-02T15:00:00+00:00", "bad night")
    rolled = rollback("rollback", asked)
    assert (rolled["decision"], rolled["champion_before"], rolled["champion_after"]) == (
        promotion.ROLLED_BACK,
        approved_version,
        full,
    )
    assert rolled["reasons"] == [
        f"rollback asked by pytest, approved by op: bad night; version {approved_version} replaced by {full}"
    ]
    assert rollback("rollback", asked)["promotion_id"] == rolled["promotion_id"]
    assert aliases(mlflow_client, model_name) == {CHAMPION: full, PREVIOUS_CHAMPION: None, CHALLENGER: None}
    assert (
        mlflow_client.get_model_version(model_name, approved_version).tags["rolled_back"]
        == "pytest__rollback"
    )
    with pytest.raises(promotion.GateError, match="nothing to roll back to"):
        rollback("rollback-again", promotion.Review(promotion.EMERGENCY, "pytest", comment="outage"))

    # Every decision has one audit row and one event on mlops.model-events.
    rows = audit_rows(stack, model_name)
    assert [
        (r["decision"], r["candidate_version"], r["previous_champion_version"], r["is_backfill"])
        for r in rows
    ] == [
        (promotion.BOOTSTRAPPED, weak, None, False),
        (promotion.PROMOTED, full, weak, False),
        (promotion.REJECTED, worse, full, False),
        (promotion.EVALUATED_ONLY, backfilled_version, full, True),
        (promotion.REJECTED, approved_version, full, False),
        (promotion.REJECTED, approved_version, full, False),
        (promotion.REJECTED, approved_version, full, False),
        (promotion.PROMOTED, approved_version, full, False),
        (promotion.ROLLBACK_REFUSED, full, approved_version, False),
        (promotion.ROLLED_BACK, full, approved_version, False),
    ]
    assert [(r["review_outcome"], r["reviewed_by"], r["review_comment"]) for r in rows] == [
        (promotion.NOT_REQUIRED, None, None),
        (promotion.NOT_REQUIRED, None, None),
        (None, None, None),  # rejected by the gate's checks: no person was asked
        (None, None, None),
        (promotion.TIMED_OUT, None, None),
        (promotion.REVIEW_REJECTED, "op", "wait for month end"),
        (promotion.APPROVED, "pytest", "looks good"),
        (promotion.APPROVED, "op", "checked the window"),
        (promotion.REVIEW_REJECTED, "op", "keep it"),
        (promotion.APPROVED, "op", "bad night"),
    ]
    assert rows[1]["thresholds"]["max_auc_regression"] == 0.01
    assert rows[1]["metrics"]["challenger"]["roc_auc"] == pytest.approx(compared["challenger"]["roc_auc"])
    assert rows[2]["reasons"] == rejected["reasons"]
    keys = {
        r["event_key"]
        for r in (bootstrapped, promoted, rejected, backfill, declined_promotion, approved, declined, rolled)
    }
    events = find_messages(kafka_client_of(stack, "reader"), MODEL_EVENTS.name, keys)
    assert {e["decision"] for e in events.values()} == {
        promotion.BOOTSTRAPPED,
        promotion.PROMOTED,
        promotion.REJECTED,
        promotion.EVALUATED_ONLY,
        promotion.ROLLED_BACK,
        promotion.ROLLBACK_REFUSED,
    }
    assert len(events) == len(keys)  # each answer to the request has its own event
    assert events[approved["event_key"]]["review"]["reviewed_by"] == "op"
