"""The model pods' lifecycle against the real API server, through Airflow (scheduler, workers,
triggerer) and the project's ModelJobPodOperator: for each case, the task's final state, its
tries, what became of its pods, and the message a user reads in the task log.

The cases are the DAGs of tests/kubernetes/dags/kubernetes_lane_checks.py; the ones that need
no interaction are all triggered at once (module fixture), then each test checks its own.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.kubernetes.conftest import Lane, use_runtime, wait_for

TASK = "job"
UNATTENDED = (
    "succeeds",
    "exits_1",
    "exits_2",
    "exits_3",
    "times_out",
    "exceeds_memory",
    "image_missing",
    "namespace_unknown",
    "service_account_unknown",
    "kubeconfig_invalid",
)


def _safe_label(value: str) -> str:
    from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value

    return str(make_safe_label_value(value))


class Case:
    def __init__(self, api: Any, lane: Lane, name: str) -> None:
        self.api, self.lane, self.name = api, lane, name
        self.dag_id = f"k8s_check_{name}"
        self.run_id = ""

    def trigger(self) -> Case:
        self.api.unpause(self.dag_id)
        self.run_id = self.api.trigger(self.dag_id, None)
        return self

    def finish(self, timeout: float = 600) -> dict[str, Any]:
        return dict(self.api.wait_for_run(self.dag_id, self.run_id, timeout=timeout))

    def tries(self) -> list[dict[str, Any]]:
        return list(self.api.task_tries(self.dag_id, self.run_id, TASK))

    def log(self, try_number: int) -> str:
        return str(self.api.task_log(self.dag_id, self.run_id, TASK, try_number))

    def pods(self) -> list[dict[str, Any]]:
        """This run's pods, oldest try first."""
        pods = self.lane.pods(f"dag={self.dag_id},run={_safe_label(self.run_id)}")
        return sorted(pods, key=lambda pod: int(pod["metadata"]["labels"]["try_number"]))

    def running_pod(self, timeout: float = 180) -> dict[str, Any]:
        def running() -> dict[str, Any] | None:
            return next((p for p in self.pods() if p["status"].get("phase") == "Running"), None)

        return dict(wait_for(running, timeout, f"{self.dag_id}: a pod runs"))

    def pods_gone(self, timeout: float = 90) -> None:
        wait_for(lambda: self.pods() == [], timeout, f"{self.dag_id}: its pods are deleted")

    def events_of(self, pod: dict[str, Any]) -> list[dict[str, Any]]:
        name = pod["metadata"]["name"]
        selector = f"involvedObject.name={name}"
        return list(
            self.lane.json("get", "events", "-n", self.lane.namespace, "--field-selector", selector)["items"]
        )


@pytest.fixture(scope="module")
def cases(airflow_api: Any, lane: Lane) -> dict[str, Case]:
    use_runtime("kubernetes")  # the check DAGs run the production operator whatever the runtime
    api = airflow_api
    invalid = {"kube_config_path": "/nonexistent/kubeconfig"}
    api.bulk_upsert(
        "connections",
        [
            {
                "connection_id": "kubernetes_invalid_kubeconfig",
                "conn_type": "kubernetes",
                "extra": json.dumps(invalid),
            }
        ],
    )
    for name in UNATTENDED:
        api.wait_for_dag(f"k8s_check_{name}")
    return {name: Case(api, lane, name).trigger() for name in UNATTENDED}


def test_a_job_that_succeeds_leaves_no_pod(cases: dict[str, Case]) -> None:
    case = cases["succeeds"]
    assert case.finish()["state"] == "success"
    assert [t["state"] for t in case.tries()] == ["success"]
    assert "lane check succeeds, try 1" in case.log(1)
    case.pods_gone()


def test_exit_1_is_retried_then_fails_and_every_failed_pod_is_kept_with_logs_and_events(
    cases: dict[str, Case],
) -> None:
    case = cases["exits_1"]
    assert case.finish()["state"] == "failed"
    assert [t["state"] for t in case.tries()] == ["failed", "failed"]
    pods = case.pods()
    assert [p["metadata"]["labels"]["try_number"] for p in pods] == ["1", "2"]
    for try_number, pod in enumerate(pods, start=1):
        assert pod["status"]["phase"] == "Failed"
        logs = case.lane.kubectl("logs", pod["metadata"]["name"], "-n", case.lane.namespace).stdout
        assert f"lane check exits_1, try {try_number}" in logs
        assert {e["reason"] for e in case.events_of(pod)} >= {"Scheduled", "Started"}
        message = f"settlement-model pod markets-ops-ml/{pod['metadata']['name']} failed: Error (exit 1: "
        assert message in case.log(try_number)


@pytest.mark.parametrize(("name", "meaning"), [("exits_2", "contract error"), ("exits_3", "refused")])
def test_exit_2_or_3_fails_without_retry(cases: dict[str, Case], name: str, meaning: str) -> None:
    case = cases[name]
    assert case.finish()["state"] == "failed"
    assert [t["state"] for t in case.tries()] == ["failed"]  # retries=1 in the DAG, not used
    (pod,) = case.pods()
    assert pod["status"]["phase"] == "Failed"
    assert f"failed: Error (exit {name[-1]}: {meaning})" in case.log(1)


def test_the_memory_limit_exceeded_is_named_oomkilled(cases: dict[str, Case]) -> None:
    case = cases["exceeds_memory"]
    assert case.finish()["state"] == "failed"
    (pod,) = case.pods()
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "OOMKilled"
    assert "failed: OOMKilled (exit 137: killed)" in case.log(1)


def test_an_image_that_is_not_there_fails_within_the_startup_timeout_naming_it(
    cases: dict[str, Case], lane: Lane
) -> None:
    case = cases["image_missing"]
    run = case.finish()
    assert run["state"] == "failed"
    (attempt,) = case.tries()
    started, ended = (attempt[key] for key in ("start_date", "end_date"))
    from datetime import datetime

    took = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    assert took < 120 + 60  # the DAG's startup_timeout_seconds, and the worker's re-entry
    missing = lane.model_image.split("@")[0].rsplit(":", 1)[0] + ":missing@sha256:" + "0" * 64
    log = case.log(1)
    assert "ErrImagePull" in log or "ImagePullBackOff" in log
    assert missing in log
    case.pods_gone()  # it never started, and holds no resources on the node


def test_execution_timeout_deletes_the_running_pod(cases: dict[str, Case]) -> None:
    case = cases["times_out"]
    assert case.finish()["state"] == "failed"
    assert [t["state"] for t in case.tries()] == ["failed"]
    assert "timed out" in case.log(1)
    case.pods_gone()


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("namespace_unknown", "MODEL_POD_NAMESPACE='markets-ops-nowhere': the identity of connection"),
        ("service_account_unknown", "MODEL_POD_SERVICE_ACCOUNT='nobody': no such ServiceAccount"),
        ("kubeconfig_invalid", "connection 'kubernetes_invalid_kubeconfig' gives no usable kubeconfig"),
    ],
)
def test_a_setting_that_cannot_work_fails_at_once_naming_it(
    cases: dict[str, Case], name: str, named: str
) -> None:
    case = cases[name]
    assert case.finish()["state"] == "failed"
    assert [t["state"] for t in case.tries()] == ["failed"]  # retries=1 in the DAG, not used
    assert named in case.log(1)
    assert case.pods() == []


def test_a_pod_deleted_while_it_runs_fails_its_try_and_the_retry_starts_a_new_pod(
    airflow_on_the_lane: Any, lane: Lane
) -> None:
    case = Case(airflow_on_the_lane, lane, "deleted_while_running")
    airflow_on_the_lane.wait_for_dag(case.dag_id)
    case.trigger()
    first = case.running_pod()
    lane.kubectl("delete", "pod", first["metadata"]["name"], "-n", lane.namespace, "--wait=false")
    assert case.finish()["state"] == "success"  # the retry's job finishes
    tries = case.tries()
    assert [t["state"] for t in tries] == ["failed", "success"]
    assert "lane check deleted_while_running, try 2" in case.log(2)
    first_log = case.log(1)
    # Whether the pod object was still there at re-entry (its container stopped by SIGTERM) or
    # already gone, the message says what happened.
    assert (
        "(exit 143: stopped by SIGTERM" in first_log or "was deleted before its result was read" in first_log
    )
    assert "lane check deleted_while_running, try 2" not in first_log


def test_a_task_marked_failed_while_its_pod_runs_deletes_the_pod(
    airflow_on_the_lane: Any, lane: Lane
) -> None:
    case = Case(airflow_on_the_lane, lane, "stopped_while_running")
    airflow_on_the_lane.wait_for_dag(case.dag_id)
    case.trigger()
    case.running_pod()
    wait_for(lambda: case.tries()[-1]["state"] == "deferred", 120, "the task waits in the triggerer")
    airflow_on_the_lane.set_task_state(case.dag_id, case.run_id, TASK, "failed")
    assert case.finish()["state"] == "failed"
    started = time.monotonic()
    case.pods_gone(timeout=60)
    assert time.monotonic() - started < 60
