"""ops.airflow.events on the stack, read back by a real consumer: the apache-kafka provider's DAG
run and task instance events (its event producer, configured by devstack/airflow.py) beside the
project's own task_failed event, every message conforming to the topic's one schema
(docs/schemas/ops.airflow.events.json). The deadline_missed event is read in
test_links_and_dry_runs.py, checked against the same schema."""

from __future__ import annotations

import time
from typing import Any

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import AIRFLOW_EVENTS
from tests.support.airflow_events import schema_errors
from tests.support.kafka_messages import read_topic

DAG = "business_calendar_heartbeat"  # one task, no side effects: a run is seconds
BUSINESS_DAY, SATURDAY = "2026-10-30", "2026-10-31"
SUCCESS_EVENTS = {"dag_run.running", "task_instance.running", "task_instance.success", "dag_run.success"}
FAILURE_EVENTS = {
    "dag_run.running",
    "task_instance.running",
    "task_instance.failed",  # the provider's: one per failed try
    "task_failed",  # the project's: the task failed for good, with what the provider lacks
    "dag_run.failed",
}


def _run(airflow_api: Any, business_date: str) -> tuple[str, dict[str, Any]]:
    airflow_api.wait_for_dag(DAG)
    airflow_api.unpause(DAG)
    run_id = airflow_api.trigger(DAG, logical_date=None, conf={"business_date": business_date})
    return run_id, airflow_api.wait_for_run(DAG, run_id, timeout=300)


def _events_of(stack: dict[str, str], run_id: str, expected: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """The run's events (the provider's key is ``dag/run``, the project's ``dag/run/...``), read
    until every ``expected`` event is there: the producers send in the background."""
    ours = f"{DAG}/{run_id}"
    events: list[tuple[str, dict[str, Any]]] = []
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        events = read_topic(
            kafka_client_of(stack, "reader"),
            AIRFLOW_EVENTS.name,
            lambda key: key == ours or key.startswith(f"{ours}/"),
        )
        if expected <= {value["event"] for _, value in events}:
            break
        time.sleep(2)
    return events


def test_a_successful_run_is_told_by_the_providers_state_events(
    stack: dict[str, str], airflow_api: Any
) -> None:
    run_id, run = _run(airflow_api, BUSINESS_DAY)
    assert run["state"] == "success"

    events = _events_of(stack, run_id, SUCCESS_EVENTS)

    # From two processes (the scheduler's and the task's), each sending in the background: the
    # key keeps each process's events in order, not the two processes' against each other.
    assert sorted(value["event"] for _, value in events) == sorted(SUCCESS_EVENTS)
    assert {key for key, _ in events} == {f"{DAG}/{run_id}"}  # one run, one key, one partition
    assert [schema_errors(value) for _, value in events] == [[]] * 4
    assert {value["source"] for _, value in events} == {"markets-ops/airflow"}
    assert {value["run_id"] for _, value in events} == {run_id}


def test_a_failed_run_adds_the_projects_task_failed_event_in_the_same_schema(
    stack: dict[str, str], airflow_api: Any
) -> None:
    run_id, run = _run(airflow_api, SATURDAY)
    assert run["state"] == "failed"

    read = _events_of(stack, run_id, FAILURE_EVENTS)
    events = {value["event"]: value for _, value in read}

    assert sorted(value["event"] for _, value in read) == sorted(FAILURE_EVENTS)  # each once
    assert all(schema_errors(value) == [] for value in events.values())
    failed = events["task_failed"]
    assert (failed["schema_version"], failed["source"]) == (2, "markets-ops/callbacks")
    assert failed["business_date"] == SATURDAY
    assert failed["exception_type"] == "NotABusinessDateError"
    assert failed["try_number"] == 1  # bad input: no retry
    assert failed["log_url"].startswith(stack["AIRFLOW_API_URL"])
    assert "not a XNYS business day" in failed["error"]
    assert "not a XNYS business day" in events["task_instance.failed"]["error"]
