"""The local lane's check DAGs (tests/kubernetes/dags) parse, with the lane's settings, into one
DAG per lifecycle case, each a single ModelJobPodOperator configured as the model jobs are."""

from __future__ import annotations

from pathlib import Path

import pytest

LANE_CHECKS = Path(__file__).resolve().parents[1] / "kubernetes" / "dags"
IMAGE = "localhost/markets-ops/settlement-model:0.1.0-abc@sha256:" + "1" * 64


def test_every_lifecycle_case_is_a_dag_of_one_model_job_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from include.markets_ops.jobs.kubernetes_runtime import ModelJobPodOperator

    monkeypatch.setenv("MODEL_POD_IMAGE", IMAGE)
    monkeypatch.setenv("MODEL_POD_HOST_NETWORK", "true")
    bag = DagBag(dag_folder=str(LANE_CHECKS))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(
        f"k8s_check_{case}"
        for case in (
            "succeeds",
            "exits_1",
            "exits_2",
            "exits_3",
            "deleted_while_running",
            "stopped_while_running",
            "times_out",
            "exceeds_memory",
            "image_missing",
            "namespace_unknown",
            "service_account_unknown",
            "kubeconfig_invalid",
        )
    )
    for dag_id in bag.dag_ids:
        (task,) = bag.dags[dag_id].tasks
        assert isinstance(task, ModelJobPodOperator)
        assert task.hostnetwork is True
        assert task.labels["lane-check"] == dag_id.removeprefix("k8s_check_")
        missing = "localhost/markets-ops/settlement-model:missing@sha256:" + "0" * 64
        assert task.image == (missing if dag_id == "k8s_check_image_missing" else IMAGE)
