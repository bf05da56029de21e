"""The night's model jobs as real pods of the model image (JOB_RUNTIME=kubernetes), through the
real DAGs: scoring's shards and training's three jobs. For the same date and model version,
scoring as pods writes exactly what the local runtime writes: the same score rows, the same
Parquet parts and manifest, the same Kafka messages.

Runs first among the tests that switch Airflow's runtime (file order): it scores with the
local runtime, then switches Airflow to the cluster (airflow_on_the_lane).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from settlement_model import contract, lineage_names

from devstack.stack_env import kafka_client_of
from include.markets_ops.scoring.manifest import manifest_key
from tests.integration.pipeline_stack import (
    SCORING_DAG,
    TRAINING_CONF,
    TRAINING_DAG,
    History,
    comparable_scores,
    fingerprint,
    run_dag,
    run_training,
    s3_objects,
)
from tests.kubernetes.conftest import Lane, use_runtime
from tests.support.kafka_messages import end_offsets, read_from
from tests.support.lineage_events import completed, dag_run_id, datasets, lineage_events, parent_run_id

SHARDS = 2  # a pod per shard, each with a core of the lane's two
SCORE_ROWS = (  # without scoring_run_id and scored_at: each run has its own
    "SELECT business_date, trade_id, model_name, model_version, score, risk_band "
    "FROM ml.trade_scores WHERE business_date = %(day)s ORDER BY 1, 2"
)
HIGH_RISK_TOPIC = "settlement-risk.high"


@contextmanager
def pods_seen(lane: Lane, dag_id: str) -> Iterator[dict[str, dict[str, Any]]]:
    """Every pod of ``dag_id`` seen while the block runs (succeeded pods are deleted at once,
    so they are watched for, not listed afterwards): name -> labels and the phases seen."""
    seen: dict[str, dict[str, Any]] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pod in lane.pods(f"dag={dag_id}"):
                entry = seen.setdefault(
                    pod["metadata"]["name"], {"labels": pod["metadata"]["labels"], "phases": set()}
                )
                entry["phases"].add(pod["status"].get("phase"))
            stop.wait(1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join(timeout=30)


def _score(api: Any, stack: dict[str, str], day: dt.date, model_version: str) -> dict[str, Any]:
    """A manual scoring run of ``day`` with ``model_version`` in SHARDS shards, and what it wrote."""
    before = end_offsets(kafka_client_of(stack, "reader"), HIGH_RISK_TOPIC)
    conf = {"business_date": day.isoformat(), "shards": SHARDS, "model_version": model_version}
    run = run_dag(api, SCORING_DAG, conf, timeout=1200)
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        rows = fingerprint(reader, SCORE_ROWS, {"day": day})
    stored = s3_objects(stack, contract.scores_prefix(day))
    manifest = json.loads(stored[manifest_key(day)])
    assert manifest["scoring_run_id"] == run["dag_run_id"]
    objects = comparable_scores(stored)  # the same but for which run wrote them
    messages = read_from(kafka_client_of(stack, "reader"), HIGH_RISK_TOPIC, before)
    return {
        "run": run,
        "rows": rows,
        "objects": objects,
        "messages": messages,
        "pod_names": _pod_names(api, run),
    }


def _pod_names(api: Any, run: dict[str, Any]) -> list[str]:
    """The pods the run's shards ran in, as the operator recorded them (none for local processes)."""
    run_id = run["dag_run_id"]
    shards = [
        ti["map_index"] for ti in api.task_instances(SCORING_DAG, run_id) if ti["task_id"] == "score_shard"
    ]
    names = [api.xcom(SCORING_DAG, run_id, "score_shard", "pod_name", shard) for shard in shards]
    return sorted(name for name in names if name)


@pytest.fixture(scope="module")
def scoring_day(pipeline_history: History) -> dt.date:
    return pipeline_history.dates[-1]


@pytest.fixture(scope="module")
def scored_locally(
    airflow_api: Any, stack: dict[str, str], scoring_day: dt.date, pipeline_champion: str
) -> Any:
    """The date scored by the local runtime (Airflow switched to it first, if needed)."""
    use_runtime("local")
    outputs = _score(airflow_api, stack, scoring_day, pipeline_champion)
    return {**outputs, "day": scoring_day, "model_version": pipeline_champion}


@pytest.fixture(scope="module")
def scored_as_pods(scored_locally: Any, airflow_api: Any, lane: Lane, stack: dict[str, str]) -> Any:
    """The same date and model version scored again, as pods on the local cluster."""
    use_runtime("kubernetes")
    day, version = scored_locally["day"], scored_locally["model_version"]
    with pods_seen(lane, SCORING_DAG) as pods:
        outputs = _score(airflow_api, stack, day, version)
    return {**outputs, "pods": pods}


def test_scoring_as_pods_writes_what_the_local_runtime_writes(
    scored_locally: Any, scored_as_pods: Any
) -> None:
    assert scored_as_pods["rows"] == scored_locally["rows"]
    assert scored_locally["rows"][0] > 1_000
    assert scored_as_pods["objects"] == scored_locally["objects"]
    parts = [key for key in scored_locally["objects"] if key.endswith(".parquet")]
    assert len(parts) == SHARDS

    # The same messages, keys and values; the shards publish side by side, so in another order.
    def published(outputs: Any) -> list[str]:
        return sorted(json.dumps(message, sort_keys=True) for message in outputs["messages"])

    assert published(scored_as_pods) == published(scored_locally)
    assert len({key for key, _ in scored_locally["messages"]}) > 10


def test_every_shard_ran_in_its_own_labelled_pod(scored_as_pods: Any, scoring_day: dt.date) -> None:
    from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value

    pods = scored_as_pods["pods"]
    assert len(pods) == SHARDS, pods
    run_label = make_safe_label_value(scored_as_pods["run"]["dag_run_id"])
    for entry in pods.values():
        labels = entry["labels"]
        assert labels["dag"] == SCORING_DAG
        assert labels["task"] == "score_shard"
        assert labels["run"] == run_label
        assert labels["business_date"] == scoring_day.isoformat()
        assert "Running" in entry["phases"] or "Succeeded" in entry["phases"]
    assert sorted(entry["labels"]["map_index"] for entry in pods.values()) == [str(i) for i in range(SHARDS)]


def test_each_pods_lineage_joins_its_shards_task(scored_as_pods: Any, stack: dict[str, str]) -> None:
    """The pods send their own OpenLineage runs (the Secret settlement-model-lineage), each a
    child of the task run that started it: the shard's, as the provider named it."""
    run_id = scored_as_pods["run"]["dag_run_id"]
    task_name, job_name = f"{SCORING_DAG}.score_shard", f"{SCORING_DAG}.score_shard.score"
    deadline = time.monotonic() + 60
    while True:
        events = completed(lineage_events(stack))
        tasks = {
            e["run"]["runId"] for e in events if e["job"]["name"] == task_name and dag_run_id(e) == run_id
        }
        jobs = [e for e in events if e["job"]["name"] == job_name and parent_run_id(e) in tasks]
        if len(jobs) >= SHARDS or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert len(tasks) == SHARDS
    assert sorted(parent_run_id(job) for job in jobs) == sorted(tasks)  # one pod's run per shard's
    warehouse_scores = str(lineage_names.table("ml.trade_scores"))
    assert all(warehouse_scores in datasets(job, "outputs") for job in jobs)


def test_training_runs_its_three_jobs_as_pods(
    airflow_on_the_lane: Any,
    stack: dict[str, str],
    lane: Lane,
    pipeline_history: History,
    pipeline_champion: str,
) -> None:
    """(pipeline_champion: the training it reruns has run before, so the gate has a champion.)"""
    conf = {"business_date": pipeline_history.training_date.isoformat(), **TRAINING_CONF}
    with pods_seen(lane, TRAINING_DAG) as pods:
        run_training(airflow_on_the_lane, stack, conf, timeout=1800)
    tasks = sorted(entry["labels"]["task"] for entry in pods.values())
    assert tasks == ["build_training_set", "evaluate_challenger", "train_model"]
    for entry in pods.values():
        assert entry["labels"]["business_date"] == pipeline_history.training_date.isoformat()
    # Succeeded pods are deleted: nothing of the run is left on the cluster.
    assert lane.pods(f"dag={TRAINING_DAG},run={next(iter(pods.values()))['labels']['run']}") == []
