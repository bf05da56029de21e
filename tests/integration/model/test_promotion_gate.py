"""The promotion gate on the real registry, warehouse and Kafka, with models the real jobs train:
a first model bootstraps the champion, a better one is promoted, a deliberately worse one is
rejected, a backfill never promotes, a rollback restores the previous champion, a retried gate
finishes its own decision, and every decision is audited and published."""

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
    bootstrapped = promotion.run_gate(services, weak, THRESHOLDS, run_info("bootstrap"))
    assert bootstrapped["decision"] == promotion.BOOTSTRAPPED
    assert aliases(mlflow_client, model_name) == {CHAMPION: weak, PREVIOUS_CHAMPION: None, CHALLENGER: None}

    # 2. A better model, evaluated against the champion on the same window: promoted.
    full = train(reader_env)
    compared = evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    assert (compared["challenger_version"], compared["baseline_version"]) == (full, weak)
    assert compared["challenger"]["roc_auc"] > compared["baseline"]["roc_auc"] + 0.05
    promoted = promotion.run_gate(services, full, THRESHOLDS, run_info("better"))
    assert promoted["decision"] == promotion.PROMOTED
    assert aliases(mlflow_client, model_name) == {CHAMPION: full, PREVIOUS_CHAMPION: weak, CHALLENGER: None}
    tags = mlflow_client.get_model_version(model_name, full).tags
    assert tags["gate.decision"] == promotion.PROMOTED
    assert tags["gate.dag_run_id"] == "pytest__better"
    assert json.loads(tags[evaluation.EVALUATION_TAG])["baseline_version"] == weak

    # 3. A deliberately worse challenger: rejected, parked as challenger; the champion stays.
    worse = train(reader_env, seed=8, **WEAK)
    evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    rejected = promotion.run_gate(services, worse, THRESHOLDS, run_info("worse"))
    assert rejected["decision"] == promotion.REJECTED
    assert rejected["alert"] is True
    assert "below the champion's" in rejected["reasons"][0]
    assert aliases(mlflow_client, model_name) == {CHAMPION: full, PREVIOUS_CHAMPION: weak, CHALLENGER: worse}

    # 4. A backfill never promotes, even a model that would pass.
    backfilled_version = train(reader_env, seed=9)
    evaluation.evaluate(reader_env, TRAINING_DATE, CHAMPION, None, 0.05)
    backfill = promotion.run_gate(
        services, backfilled_version, THRESHOLDS, run_info("backfill", backfill=True)
    )
    assert backfill["decision"] == promotion.EVALUATED_ONLY
    assert "backfill runs never promote" in backfill["reasons"]
    assert aliases(mlflow_client, model_name)[CHAMPION] == full

    # 5. A retried gate task finishes the decision it took: same audit row, nothing moves.
    retried = promotion.run_gate(services, full, THRESHOLDS, run_info("better"))
    assert retried["promotion_id"] == promoted["promotion_id"]
    assert aliases(mlflow_client, model_name)[CHAMPION] == full

    # 6. Rollback: the previous champion is back, audited; a second rollback has nowhere to go.
    rolled = promotion.run_rollback(services, run_info("rollback"))
    assert (rolled["decision"], rolled["champion_before"], rolled["champion_after"]) == (
        promotion.ROLLED_BACK,
        full,
        weak,
    )
    assert aliases(mlflow_client, model_name) == {CHAMPION: weak, PREVIOUS_CHAMPION: None, CHALLENGER: worse}
    assert mlflow_client.get_model_version(model_name, full).tags["rolled_back"] == "pytest__rollback"
    with pytest.raises(promotion.GateError, match="nothing to roll back to"):
        promotion.run_rollback(services, run_info("rollback-again"))

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
        (promotion.ROLLED_BACK, weak, full, False),
    ]
    assert rows[1]["thresholds"]["max_auc_regression"] == 0.01
    assert rows[1]["metrics"]["challenger"]["roc_auc"] == pytest.approx(compared["challenger"]["roc_auc"])
    assert rows[2]["reasons"] == rejected["reasons"]
    keys = {r["event_key"] for r in (bootstrapped, promoted, rejected, backfill, rolled)}
    events = find_messages(kafka_client_of(stack, "reader"), MODEL_EVENTS.name, keys)
    assert {e["decision"] for e in events.values()} == {
        promotion.BOOTSTRAPPED,
        promotion.PROMOTED,
        promotion.REJECTED,
        promotion.EVALUATED_ONLY,
        promotion.ROLLED_BACK,
    }
