"""A promotion waits for a person, end to end through Airflow's REST API on the stack: one training
run whose gate passes asks for approval (the request shows the candidate and the champion side by
side); a user who is not a named approver is refused; no answer in time leaves the champion and is
recorded as timed out; cleared and asked again, a reject with a comment is recorded with the
approver's name; asked a third time, the approver approves in the browser (the UI's Required
Actions form, screenshot in docs/images/promotion-approval.png), the champion moves, and the audit
rows, the version's tags and the mlops.model-events messages carry who answered, when and why. The
rollback path then restores the champion the other tests expect, approved by the approver too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from psycopg.rows import dict_row

from devstack.airflow_api import AirflowApi, AirflowApiError
from devstack.stack_env import kafka_client_of
from include.markets_ops.airflow.approval import APPROVAL_HOURS_VARIABLE, APPROVE, REJECT
from include.markets_ops.services import model_registry
from include.markets_ops.services.kafka import find_messages
from include.markets_ops.services.topics import MODEL_EVENTS
from include.markets_ops.training import promotion
from include.markets_ops.training.plan import ROLLBACK_PARAM
from tests.integration.pipeline_stack import (
    APPROVAL_TASK,
    APPROVER,
    TRAINING_CONF,
    TRAINING_DAG,
    History,
    approver,
    champion_version,
    run_training,
)
from tests.integration.test_airflow_ui import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS

pytestmark = pytest.mark.integration
SHADOW_DAYS_VARIABLE = promotion.SHADOW_THRESHOLD_VARIABLES["shadow_min_days"][0]
TIMEOUT_HOURS = "0.01"  # 36 s; the scheduler's sweep resolves it within 15 s after


def reviews_of(stack: dict[str, str], run_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(stack["REPORTING_READER_URL"], row_factory=dict_row) as reader:
        return reader.execute(
            "SELECT decision, candidate_version, previous_champion_version, review_outcome, reviewed_by, "
            "review_comment, reasons FROM ml.model_promotions WHERE dag_run_id = %s ORDER BY promotion_id",
            (run_id,),
        ).fetchall()


def ask_again(api: Any, run_id: str) -> None:
    """What an operator does in the UI: clear approve_promotion with its downstream."""
    api.clear_tasks(TRAINING_DAG, run_id, [APPROVAL_TASK])
    assert approver_wait(api, run_id), "the cleared request did not ask again"


def answer_until_the_run_ends(person: Any, run_id: str, option: str, comment: str) -> None:
    """Answer the request, and a retry's request if Airflow's race failed the answered try
    (devstack/airflow_api.py, wait_until_asked), until the run ends."""
    person.answer_each_request(
        TRAINING_DAG, run_id, APPROVAL_TASK, option, params_input={"comment": comment}, timeout=600
    )


def approver_wait(api: Any, run_id: str) -> bool:
    return bool(api.wait_until_asked(TRAINING_DAG, run_id, APPROVAL_TASK, timeout=600))


@pytest.fixture
def approver_page(stack: dict[str, str]) -> Iterator[Page]:
    """A browser logged in to the Airflow UI as the approver."""
    base = stack["AIRFLOW_API_URL"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1300})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{base}/")
        page.get_by_label("Username").fill(APPROVER)
        page.get_by_label("Password").fill(stack[f"AIRFLOW_{APPROVER.upper()}_PASSWORD"])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{base}/", timeout=TIMEOUT_MS)
        yield page
        browser.close()


def approve_in_the_browser(page: Page, stack: dict[str, str], run_id: str, subject: str) -> None:
    """The task instance's Required Actions tab: read the request, comment, Approve."""
    base = stack["AIRFLOW_API_URL"]
    page.goto(
        f"{base}/dags/{TRAINING_DAG}/runs/{quote(run_id, safe='')}/tasks/{APPROVAL_TASK}/required_actions"
    )
    expect(page.get_by_text(subject)).to_be_visible()
    expect(page.get_by_text("ROC AUC").first).to_be_visible()
    page.locator('[name="element_comment"]').fill("checked in the browser")
    page.screenshot(path=str(SCREENSHOTS / "promotion-approval.png"))
    page.get_by_test_id(f"hitl-option-{APPROVE}").click()


@pytest.fixture
def short_approval_window(airflow_api: Any) -> Any:
    previous = airflow_api.get_variable(APPROVAL_HOURS_VARIABLE)
    airflow_api.set_variable(APPROVAL_HOURS_VARIABLE, TIMEOUT_HOURS)
    yield
    airflow_api.set_variable(APPROVAL_HOURS_VARIABLE, previous or "48")


@pytest.fixture
def no_shadow_check(airflow_api: Any) -> Any:
    """This test is about the approval: its candidate is promoted on the offline checks alone (the
    shadow check's story is tests/features/model_governance.feature)."""
    previous = airflow_api.get_variable(SHADOW_DAYS_VARIABLE)
    airflow_api.set_variable(SHADOW_DAYS_VARIABLE, "0")
    yield
    airflow_api.set_variable(SHADOW_DAYS_VARIABLE, previous or "3")


@dataclass
class TrainingRuns:
    conf: dict[str, Any]  # a training on the session's history
    ids: list[str] = field(default_factory=list)  # the runs the test triggered


@pytest.fixture
def runs_left_as_found(
    airflow_api: Any, stack: dict[str, str], pipeline_history: History, pipeline_champion: str
) -> Iterator[TrainingRuns]:
    """The test's training runs; afterwards none is left waiting (the DAG runs one at a time: a
    waiting run would hold every later training), and the session's champion is back, restored
    by the DAG's rollback path, approved by the approver too."""
    runs = TrainingRuns({"business_date": pipeline_history.training_date.isoformat(), **TRAINING_CONF})
    yield runs
    for run_id in runs.ids:
        path = f"/dags/{TRAINING_DAG}/dagRuns/{run_id}"
        if airflow_api.request("GET", path)["state"] not in ("success", "failed"):
            airflow_api.request("PATCH", path, json={"state": "failed"})
    if champion_version(stack) != pipeline_champion:
        rollback = {"business_date": pipeline_history.training_date.isoformat(), ROLLBACK_PARAM: True}
        rolled = run_training(airflow_api, stack, rollback, approval_task="approve_rollback")
        decision = airflow_api.xcom(TRAINING_DAG, rolled["dag_run_id"], "rollback_champion", "return_value")
        assert decision["review"]["reviewed_by"] == APPROVER
    assert champion_version(stack) == pipeline_champion


@pytest.mark.usefixtures("short_approval_window", "no_shadow_check")
def test_a_promotion_waits_for_a_named_approver_and_records_each_answer(
    airflow_api: Any,
    stack: dict[str, str],
    pipeline_champion: str,
    approver_page: Page,
    runs_left_as_found: TrainingRuns,
) -> None:
    person = approver(airflow_api, stack)
    airflow_api.unpause(TRAINING_DAG)
    run_id = airflow_api.trigger(TRAINING_DAG, logical_date=None, conf=runs_left_as_found.conf)
    runs_left_as_found.ids.append(run_id)
    assert approver_wait(person, run_id), airflow_api.failed_tasks_summary(TRAINING_DAG, run_id)

    # The request: the candidate against the champion, only the named approvers may answer.
    request = person.hitl_detail(TRAINING_DAG, run_id, APPROVAL_TASK)
    candidate = airflow_api.xcom(TRAINING_DAG, run_id, "promotion_gate", "return_value")["candidate_version"]
    assert request["subject"] == (
        f"Promote settlement_fail_risk version {candidate}? It would replace version "
        f"{pipeline_champion} as champion."
    )
    assert "| ROC AUC |" in request["body"]
    assert f"[version {pipeline_champion}](" in request["body"]
    assert request["options"] == [APPROVE, REJECT]
    assert {user["name"] for user in request["assigned_users"]} == {"op", "admin"}
    not_an_approver = AirflowApi(airflow_api.base_url, "user", stack["AIRFLOW_USER_PASSWORD"])
    with pytest.raises(AirflowApiError) as refused:
        not_an_approver.answer(TRAINING_DAG, run_id, APPROVAL_TASK, APPROVE)
    assert refused.value.status == 403
    assert champion_version(stack) == pipeline_champion  # nothing moves while it waits

    # 1. Nobody answers in time: the scheduler resolves the request; the champion stays.
    run = airflow_api.wait_for_run(TRAINING_DAG, run_id, timeout=300)
    assert run["state"] == "success", airflow_api.failed_tasks_summary(TRAINING_DAG, run_id)
    airflow_api.set_variable(APPROVAL_HOURS_VARIABLE, "48")

    # 2. Asked again (cleared), the approver rejects with a comment.
    ask_again(airflow_api, run_id)
    answer_until_the_run_ends(person, run_id, REJECT, "after month end")
    assert airflow_api.wait_for_run(TRAINING_DAG, run_id, timeout=300)["state"] == "success"
    assert champion_version(stack) == pipeline_champion

    # 3. Asked a third time, the approver approves in the browser: the champion moves.
    ask_again(airflow_api, run_id)
    approve_in_the_browser(approver_page, stack, run_id, request["subject"])
    # (Should the browser's answer be lost to Airflow's race, the retry's request gets the same one.)
    answer_until_the_run_ends(person, run_id, APPROVE, "checked in the browser")
    assert airflow_api.wait_for_run(TRAINING_DAG, run_id, timeout=300)["state"] == "success"
    assert champion_version(stack) == candidate
    rows = reviews_of(stack, run_id)
    assert [
        (
            r["decision"],
            r["candidate_version"],
            r["review_outcome"],
            r["reviewed_by"],
            r["review_comment"],
        )
        for r in rows
    ] == [
        (promotion.REJECTED, candidate, promotion.TIMED_OUT, None, None),
        (promotion.REJECTED, candidate, promotion.REVIEW_REJECTED, "op", "after month end"),
        (promotion.PROMOTED, candidate, promotion.APPROVED, "op", "checked in the browser"),
    ]
    assert {r["previous_champion_version"] for r in rows} == {pipeline_champion}
    assert rows[0]["reasons"][-1] == "no approver answered the approval request before it timed out"
    tags = (
        model_registry.client(stack["MLFLOW_TRACKING_URI"])
        .get_model_version(model_registry.MODEL_NAME, candidate)
        .tags
    )
    assert (tags["review.outcome"], tags["review.reviewed_by"], tags["review.comment"]) == (
        promotion.APPROVED,
        "op",
        "checked in the browser",
    )
    promoted = airflow_api.xcom(TRAINING_DAG, run_id, "review_promotion", "return_value")
    event = find_messages(kafka_client_of(stack, "reader"), MODEL_EVENTS.name, {promoted["event_key"]})
    assert event[promoted["event_key"]]["review"]["reviewed_by"] == "op"
