"""Scenario of tests/features/model_governance.feature, through the Airflow REST API on the stack:
the session's champion (bootstrapped and approved), a challenger held by the gate, three nights of
scoring with it in shadow, the comparisons, the challenger gated again with its shadow record,
approved by the approver, promoted, then rolled back with approval. Checked in the warehouse, the
registry and the approval request itself. Leaves the session's champion and the gate's
Variables as it found them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from pytest_bdd import given, parsers, scenarios, then, when

from include.markets_ops.airflow.approval import APPROVE
from include.markets_ops.services import model_registry
from include.markets_ops.training import promotion
from include.markets_ops.training.plan import GATE_CHALLENGER_PARAM, ROLLBACK_PARAM
from tests.integration.pipeline_stack import (
    APPROVAL_TASK,
    APPROVER,
    SCORING_DAG,
    TRAINING_CONF,
    TRAINING_DAG,
    History,
    approver,
    champion_version,
    run_dag,
    run_training,
)

scenarios("model_governance.feature")

SHADOW_VARIABLES = ("model_gate_shadow_min_days", "model_gate_shadow_min_fails")


@dataclass
class Story:
    history: History
    first_champion: str
    challenger: str = ""
    shadow_nights: list[dt.date] = field(default_factory=list)
    regate_run: str = ""
    run_ids: list[str] = field(default_factory=list)  # every training run triggered here


@pytest.fixture
def story(
    airflow_api: Any, stack: dict[str, str], pipeline_history: History, pipeline_champion: str
) -> Iterator[Story]:
    """The scenario's state; afterwards no run is left waiting, the gate's Variables and the
    session's champion are back (rolled back through the DAG, approved, if the story stopped
    half-way)."""
    variables = {name: airflow_api.get_variable(name) for name in SHADOW_VARIABLES}
    state = Story(pipeline_history, pipeline_champion)
    yield state
    for run_id in state.run_ids:
        path = f"/dags/{TRAINING_DAG}/dagRuns/{run_id}"
        if airflow_api.request("GET", path)["state"] not in ("success", "failed"):
            airflow_api.request("PATCH", path, json={"state": "failed"})
    for name, value in variables.items():
        if value is not None:
            airflow_api.set_variable(name, value)
    if champion_version(stack) != pipeline_champion:
        conf = {"business_date": pipeline_history.training_date.isoformat(), ROLLBACK_PARAM: True}
        run_training(airflow_api, stack, conf, approval_task="approve_rollback")
    assert champion_version(stack) == pipeline_champion


def _reader(stack: dict[str, str]) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(stack["REPORTING_READER_URL"], row_factory=dict_row)


def _decisions(stack: dict[str, str], run_id: str) -> list[dict[str, Any]]:
    with _reader(stack) as reader:
        return reader.execute(
            "SELECT decision, candidate_version, previous_champion_version, review_outcome, reviewed_by, "
            "reasons, metrics FROM ml.model_promotions WHERE dag_run_id = %s ORDER BY promotion_id",
            (run_id,),
        ).fetchall()


def _training_conf(story: Story, **extra: Any) -> dict[str, Any]:
    return {"business_date": story.history.training_date.isoformat(), **TRAINING_CONF, **extra}


def _trigger_training(airflow_api: Any, story: Story, conf: dict[str, Any]) -> str:
    airflow_api.wait_for_dag(TRAINING_DAG)
    airflow_api.unpause(TRAINING_DAG)
    run_id = str(airflow_api.trigger(TRAINING_DAG, logical_date=None, conf=conf))
    story.run_ids.append(run_id)
    return run_id


@given("a champion put in place by the training DAG with an approver's approval")
def approved_champion(story: Story, stack: dict[str, str]) -> None:
    with _reader(stack) as reader:
        made_champion = reader.execute(
            "SELECT decision, review_outcome, reviewed_by FROM ml.model_promotions "
            # The latest decision that made it champion: its bootstrap or promotion, or a rollback
            # back to it (a session's earlier test may have promoted another and rolled back).
            "WHERE model_name = %s AND candidate_version = %s "
            "AND decision IN ('bootstrapped', 'promoted', 'rolled_back') "
            "ORDER BY promotion_id DESC LIMIT 1",
            (model_registry.MODEL_NAME, story.first_champion),
        ).fetchone()
    assert made_champion is not None, f"version {story.first_champion} was never made champion by the gate"
    assert (made_champion["review_outcome"], made_champion["reviewed_by"]) == (promotion.APPROVED, APPROVER)
    assert champion_version(stack) == story.first_champion


@given(parsers.parse("the gate asks for {days:d} business days in shadow with {fails:d} realised fails"))
def shadow_thresholds(airflow_api: Any, days: int, fails: int) -> None:
    airflow_api.set_variable("model_gate_shadow_min_days", str(days))
    airflow_api.set_variable("model_gate_shadow_min_fails", str(fails))


@when("a later training run trains a challenger")
def train_a_challenger(story: Story, airflow_api: Any) -> None:
    run_id = _trigger_training(airflow_api, story, _training_conf(story))
    run = airflow_api.wait_for_run(TRAINING_DAG, run_id, timeout=1200)
    assert run["state"] == "success", airflow_api.failed_tasks_summary(TRAINING_DAG, run_id)
    gated = airflow_api.xcom(TRAINING_DAG, run_id, "promotion_gate", "return_value")
    story.challenger = gated["candidate_version"]
    assert story.challenger != story.first_champion


@then("the gate holds it as the challenger, because it has no shadow record beside the champion")
def held_as_challenger(story: Story, stack: dict[str, str]) -> None:
    (decision,) = _decisions(stack, story.run_ids[-1])
    assert (decision["decision"], decision["candidate_version"]) == (promotion.REJECTED, story.challenger)
    assert decision["reasons"][0].startswith(
        f"shadow: 0 business days of realised outcomes beside champion version {story.first_champion}"
    )
    assert decision["metrics"]["shadow"] == []
    client = model_registry.client(stack["MLFLOW_TRACKING_URI"])
    assert model_registry.alias_version(client, model_registry.CHALLENGER) == story.challenger
    assert champion_version(stack) == story.first_champion


@when(parsers.parse("the nightly scoring runs on {nights:d} business days with the challenger in shadow"))
def shadow_nights(story: Story, airflow_api: Any, nights: int) -> None:
    # Days of the clean history, so their outcomes are in the warehouse: each night's comparison
    # reads only those known by its own date.
    story.shadow_nights = story.history.dates[-nights - 1 : -1]
    for night in story.shadow_nights:
        run_dag(airflow_api, SCORING_DAG, {"business_date": night.isoformat()})


@then("the challenger scored every trade the champion scored, and only into ml.shadow_scores")
def shadow_scores(story: Story, stack: dict[str, str]) -> None:
    with _reader(stack) as reader:
        counts = reader.execute(
            """
            SELECT c.business_date, count(*) AS champion_scores,
                   count(s.trade_id) FILTER (WHERE s.model_version = %(challenger)s) AS challenger_scores,
                   array_agg(DISTINCT c.model_version) AS champion_versions
            FROM ml.trade_scores AS c
            LEFT JOIN ml.shadow_scores AS s USING (business_date, trade_id)
            WHERE c.business_date = ANY(%(nights)s)
            GROUP BY c.business_date ORDER BY c.business_date
            """,
            {"challenger": story.challenger, "nights": story.shadow_nights},
        ).fetchall()
    assert [c["business_date"] for c in counts] == story.shadow_nights
    for night in counts:
        assert night["champion_scores"] > 0
        assert night["challenger_scores"] == night["champion_scores"], night
        assert night["champion_versions"] == [story.first_champion]  # the champion's own rows


@then("each of those days is compared on the same realised trades in ml.shadow_comparisons")
def shadow_comparisons(story: Story, stack: dict[str, str]) -> None:
    with _reader(stack) as reader:
        compared = reader.execute(
            "SELECT business_date, champion_version, scored_trades, realised_trades, fails, "
            "champion_roc_auc, challenger_roc_auc, outcomes_known_by FROM ml.shadow_comparisons "
            "WHERE model_name = %s AND challenger_version = %s ORDER BY business_date",
            (model_registry.MODEL_NAME, story.challenger),
        ).fetchall()
    assert [c["business_date"] for c in compared] == story.shadow_nights
    last_night = story.shadow_nights[-1]
    assert {c["champion_version"] for c in compared} == {story.first_champion}
    # Each date compared again on the last night, unless its comparison was final already (every
    # trade realised: not read again).
    for c in compared:
        assert c["outcomes_known_by"] == last_night or c["realised_trades"] == c["scored_trades"], c
    realised = [c for c in compared if c["realised_trades"] > 0 and c["fails"] > 0]
    assert len(realised) >= 2, compared
    assert all(0.5 < c["challenger_roc_auc"] < 1 and 0.5 < c["champion_roc_auc"] < 1 for c in realised)
    assert compared[-1]["realised_trades"] == 0  # the last night's trades have not settled yet


@when("the standing challenger is gated again")
def gate_again(story: Story, airflow_api: Any, stack: dict[str, str]) -> None:
    story.regate_run = _trigger_training(
        airflow_api, story, _training_conf(story, **{GATE_CHALLENGER_PARAM: True})
    )
    asked = approver(airflow_api, stack).wait_until_asked(
        TRAINING_DAG, story.regate_run, APPROVAL_TASK, timeout=1200
    )
    assert asked, airflow_api.failed_tasks_summary(TRAINING_DAG, story.regate_run)
    assert (
        airflow_api.task_state(TRAINING_DAG, story.regate_run, "train_model") == "skipped"
    )  # nothing trained


@then("its approval request shows its shadow record beside the champion")
def request_shows_shadow(story: Story, airflow_api: Any, stack: dict[str, str]) -> None:
    request = approver(airflow_api, stack).hitl_detail(TRAINING_DAG, story.regate_run, APPROVAL_TASK)
    assert request["subject"] == (
        f"Promote settlement_fail_risk version {story.challenger}? It would replace version "
        f"{story.first_champion} as champion."
    )
    body = request["body"]
    assert "**Shadow record**: " in body
    for night in story.shadow_nights:
        assert f"| {night.isoformat()} |" in body


@when("the approver approves it")
def approve(story: Story, airflow_api: Any, stack: dict[str, str]) -> None:
    approver(airflow_api, stack).answer_each_request(
        TRAINING_DAG, story.regate_run, APPROVAL_TASK, APPROVE, params_input={"comment": "shadow record read"}
    )
    run = airflow_api.wait_for_run(TRAINING_DAG, story.regate_run, timeout=600)
    assert run["state"] == "success", airflow_api.failed_tasks_summary(TRAINING_DAG, story.regate_run)


@then("it is the champion, and the audit row names the approver and keeps the shadow record")
def promoted(story: Story, stack: dict[str, str]) -> None:
    assert champion_version(stack) == story.challenger
    (decision,) = _decisions(stack, story.regate_run)
    assert (decision["decision"], decision["candidate_version"], decision["previous_champion_version"]) == (
        promotion.PROMOTED,
        story.challenger,
        story.first_champion,
    )
    assert (decision["review_outcome"], decision["reviewed_by"]) == (promotion.APPROVED, APPROVER)
    shadow = decision["metrics"]["shadow"]
    assert sorted(day["business_date"] for day in shadow) == [n.isoformat() for n in story.shadow_nights]


@when("the approver approves a rollback")
def roll_back(story: Story, airflow_api: Any, stack: dict[str, str]) -> None:
    rolled = run_training(
        airflow_api,
        stack,
        {"business_date": story.history.training_date.isoformat(), ROLLBACK_PARAM: True},
        approval_task="approve_rollback",
    )
    story.run_ids.append(rolled["dag_run_id"])


@then("the first champion is back, and the rollback is recorded with who approved it")
def rolled_back(story: Story, stack: dict[str, str]) -> None:
    assert champion_version(stack) == story.first_champion
    (decision,) = _decisions(stack, story.run_ids[-1])
    assert (decision["decision"], decision["candidate_version"], decision["previous_champion_version"]) == (
        promotion.ROLLED_BACK,
        story.first_champion,
        story.challenger,
    )
    assert (decision["review_outcome"], decision["reviewed_by"]) == (promotion.APPROVED, APPROVER)
