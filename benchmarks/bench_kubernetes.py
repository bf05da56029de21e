"""What running the model jobs as pods costs, through Airflow, in one run (make bench):

- pod overhead per job: the lane's smoke check (a pod of the model image that does nothing),
  from the task's start to the pod's creation, to its container's start, from its container's
  end to the task's end;
- the scoring DAG of one business date of the stack's warehouse, 1 and 2 shards, with the local
  runtime and as pods: the run's wall time, each shard's task time and, for pods, the job's own
  time in its container.

Needs the stack and the local cluster up, and a champion (make demo leaves both). Airflow is
switched between runtimes (its components restart) and left on the local one.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import threading
import time
from typing import Any

from benchmarks import Result, airflow_api, latest_scored_date

NAME = "kubernetes"
SCORING_DAG = "settlement_risk_scoring"
SMOKE_DAG = "k8s_check_succeeds"
SMOKE_RUNS = 3


def run(stack: dict[str, str]) -> list[Result]:
    from devstack.k8s import cluster

    if not cluster.is_up():
        raise SystemExit("the local cluster is not up: run `make k8s-up` first")
    api = airflow_api(stack)
    day, version = latest_scored_date(stack), _champion(stack)
    results: list[Result] = []
    try:
        scoring: dict[tuple[str, int], dict[str, Any]] = {}
        for runtime in ("local", "kubernetes"):
            _switch(runtime)
            for shards in (1, 2):
                scoring[(runtime, shards)] = _scoring_run(
                    api, day, version, shards, watch=runtime == "kubernetes"
                )
            if runtime == "kubernetes":
                results += _smoke(api)
        results += _scoring_results(scoring, day)
    finally:
        _switch("local")
    return results


def _switch(runtime: str) -> None:
    from devstack import airflow
    from devstack.config import Stack

    os.environ["JOB_RUNTIME"] = runtime
    airflow.start(Stack.load())


def _champion(stack: dict[str, str]) -> str:
    from include.markets_ops.services import model_registry

    version = model_registry.alias_version(
        model_registry.client(stack["MLFLOW_TRACKING_URI"]), model_registry.CHAMPION
    )
    if version is None:
        raise SystemExit("no champion model: run `make demo` first")
    return version


class PodWatch:
    """Every pod of one DAG and its status as it changes, from a watch on the API server (a
    succeeded pod is deleted at once: its last status is only seen this way)."""

    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id
        self.pods: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PodWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        from kubernetes import client, config, watch

        from devstack.k8s import cluster

        api = client.CoreV1Api(config.new_client_from_config(str(cluster.ADMIN_KUBECONFIG)))
        while not self._stop.is_set():
            stream = watch.Watch()
            for event in stream.stream(
                api.list_namespaced_pod,
                cluster.NAMESPACE,
                label_selector=f"dag={self.dag_id}",
                timeout_seconds=5,
            ):
                pod = event["object"]
                if event["type"] != "DELETED" or pod.metadata.name not in self.pods:
                    self.pods[pod.metadata.name] = pod
                if self._stop.is_set():
                    stream.stop()

    def timings(self) -> list[dict[str, float]]:
        """Per pod: created -> container started -> container finished, as datetimes' seconds."""
        found = []
        for pod in self.pods.values():
            statuses = pod.status.container_statuses or []
            terminated = statuses[0].state.terminated if statuses and statuses[0].state else None
            if terminated is None:
                continue
            found.append(
                {
                    "created": pod.metadata.creation_timestamp.timestamp(),
                    "started": terminated.started_at.timestamp(),
                    "finished": terminated.finished_at.timestamp(),
                }
            )
        return found


def _timestamp(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _scoring_run(api: Any, day: dt.date, version: str, shards: int, watch: bool) -> dict[str, Any]:
    api.wait_for_dag(SCORING_DAG)
    api.unpause(SCORING_DAG)
    conf = {"business_date": day.isoformat(), "shards": shards, "model_version": version}
    with PodWatch(SCORING_DAG) as pods:
        run_id = api.trigger(SCORING_DAG, None, conf=conf)
        run = api.wait_for_run(SCORING_DAG, run_id, timeout=1800)
        time.sleep(2 if watch else 0)  # the watch's last events
    if run["state"] != "success":
        raise SystemExit(f"{SCORING_DAG} {run_id}: {api.failed_tasks_summary(SCORING_DAG, run_id)}")
    shards_tis = [ti for ti in api.task_instances(SCORING_DAG, run_id) if ti["task_id"] == "score_shard"]
    print(f"    {SCORING_DAG} {shards} shard(s), {'pods' if watch else 'local'}: {run['state']}", flush=True)
    return {
        "wall": _timestamp(run["end_date"]) - _timestamp(run["start_date"]),
        "tasks": [_timestamp(ti["end_date"]) - _timestamp(ti["start_date"]) for ti in shards_tis],
        "pods": pods.timings() if watch else [],
    }


def _smoke(api: Any) -> list[Result]:
    """A pod that does nothing, SMOKE_RUNS times: what a pod round trip costs a task."""
    api.wait_for_dag(SMOKE_DAG)
    api.unpause(SMOKE_DAG)
    before_create, to_start, after_finish, task = [], [], [], []
    for _ in range(SMOKE_RUNS):
        with PodWatch(SMOKE_DAG) as pods:
            run_id = api.trigger(SMOKE_DAG, None)
            api.wait_for_run(SMOKE_DAG, run_id, timeout=600)
            time.sleep(2)
        (ti,) = api.task_instances(SMOKE_DAG, run_id)
        (pod,) = pods.timings()
        start, end = _timestamp(ti["start_date"]), _timestamp(ti["end_date"])
        task.append(end - start)
        before_create.append(pod["created"] - start)
        to_start.append(pod["started"] - pod["created"])
        after_finish.append(end - pod["finished"])
    note = f"median of {SMOKE_RUNS} runs of {SMOKE_DAG} (a pod of the model image that does nothing)"
    return [
        Result(NAME, "pod job: task start -> pod created", statistics.median(before_create), "s", note),
        Result(NAME, "pod job: pod created -> container started", statistics.median(to_start), "s", note),
        Result(NAME, "pod job: container finished -> task end", statistics.median(after_finish), "s", note),
        Result(NAME, "pod job: whole task", statistics.median(task), "s", note),
    ]


def _scoring_results(scoring: dict[tuple[str, int], dict[str, Any]], day: dt.date) -> list[Result]:
    results = []
    for (runtime, shards), measured in scoring.items():
        label = (
            f"scoring {day}, {shards} shard(s), {'pods' if runtime == 'kubernetes' else 'local processes'}"
        )
        results.append(Result(NAME, f"{label}: DAG run", measured["wall"], "s", "manual run, model pinned"))
        results.append(Result(NAME, f"{label}: shard task (max)", max(measured["tasks"]), "s", ""))
        if measured["pods"]:
            own = max(p["finished"] - p["started"] for p in measured["pods"])
            results.append(Result(NAME, f"{label}: job in its container (max)", own, "s", ""))
    return results
