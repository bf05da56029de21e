"""Every model pod of every DAG, rendered with JOB_RUNTIME=kubernetes and no cluster: valid against
the Kubernetes 1.34 schema (strict, offline), and configured as production needs it."""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from include.markets_ops.jobs import spec as job_spec
from include.markets_ops.scoring.plan import ScoringPlan
from include.markets_ops.training import plan as training

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
IMAGE = "registry.example.com/markets-ops/settlement-model:0.1.0@sha256:" + "3" * 64
DEPLOYMENT = {
    "JOB_RUNTIME": "kubernetes",
    "MODEL_POD_IMAGE": IMAGE,
    "MODEL_POD_NAMESPACE": "markets-ops-ml",
    "MODEL_POD_NODE_SELECTOR": '{"workload": "batch"}',
    "MODEL_POD_TOLERATIONS": (
        '[{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]'
    ),
}
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LITERAL_ENV = {"WORK_DIR", "TMPDIR", "HOME", "MPLCONFIGDIR", "PYTHONUNBUFFERED", "OMP_NUM_THREADS"}
CREDENTIALS = {
    "DATABASE_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "KAFKA_CONFIG_JSON",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
}
BUSINESS_DATE = dt.date(2026, 11, 20)


def example_arguments() -> dict[str, list[str]]:
    """Arguments as the DAGs' planning tasks produce them (the real functions, sample inputs)."""
    scoring_plan = ScoringPlan(
        BUSINESS_DATE, "settlement_fail_risk", "3", 2, 0.25, 0.1, "scheduled__2026-11-20T22:00:00+00:00"
    )
    training_plan = training.TrainingPlan(BUSINESS_DATE, False, None, (), 60, 10, "manual__2026-11-20")
    return {
        "score": scoring_plan.shard_arguments()[1],
        "build-training-set": training_plan.build_arguments(),
        "train": training_plan.train_arguments(),
        "evaluate": training_plan.evaluate_arguments(),
    }


@pytest.fixture(scope="module")
def pod_operators() -> list[Any]:
    """(dag_id, task_id, job, operator with concrete arguments) for every model job task."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    with mock.patch.dict(os.environ, DEPLOYMENT):
        bag = DagBag(dag_folder=DAGS_FOLDER)
    assert bag.import_errors == {}
    arguments = example_arguments()
    found = []
    for dag in bag.dags.values():
        for task in dag.tasks:
            if isinstance(task, MappedOperator) and issubclass(task.operator_class, KubernetesPodOperator):
                job = task.partial_kwargs["cmds"][1]
                operator = task.unmap({"arguments": arguments[job]})
            elif isinstance(task, KubernetesPodOperator):
                job = task.cmds[1]
                operator = copy.copy(task)
                operator.arguments = arguments[job]  # an XComArg until the run: its planned value
            else:
                continue
            found.append((dag.dag_id, task.task_id, job, operator))
    return found


@pytest.fixture(scope="module")
def pods(pod_operators: list[Any]) -> dict[str, dict[str, Any]]:
    """The rendered pods, serialised as the API server would receive them, by task id."""
    from kubernetes.client import ApiClient

    client = ApiClient()
    return {
        task_id: client.sanitize_for_serialization(operator.build_pod_request_obj(context=None, dry_run=True))
        for _, task_id, _, operator in pod_operators
    }


def test_every_model_job_of_every_dag_is_a_pod(pod_operators: list[Any]) -> None:
    found = {(dag_id, task_id, job) for dag_id, task_id, job, _ in pod_operators}
    assert found == {
        ("settlement_risk_scoring", "score_shard", "score"),
        ("settlement_risk_training", "build_training_set", "build-training-set"),
        ("settlement_risk_training", "train_model", "train"),
        ("settlement_risk_training", "evaluate_challenger", "evaluate"),
    }


def test_every_pod_is_valid_against_the_kubernetes_schema(pods: dict[str, dict[str, Any]]) -> None:
    import kubernetes_validate

    for task_id, pod in pods.items():
        try:
            kubernetes_validate.validate(pod, "1.34.0", strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{task_id}: {error}")


def test_the_image_is_the_pinned_one_and_runs_the_job(pods: dict[str, dict[str, Any]]) -> None:
    for task_id, pod in pods.items():
        (container,) = pod["spec"]["containers"]
        assert container["image"] == IMAGE, task_id
        assert container["imagePullPolicy"] == "IfNotPresent"
        assert container["command"][0] == "settlement-model"
        assert pod["spec"]["restartPolicy"] == "Never"


def test_pods_run_non_root_read_only_without_privileges_or_a_fixed_uid(
    pods: dict[str, dict[str, Any]],
) -> None:
    for task_id, pod in pods.items():
        pod_security = pod["spec"]["securityContext"]
        assert pod_security["runAsNonRoot"] is True, task_id
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["spec"]["containers"]
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["privileged"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        # OpenShift's restricted SCC assigns the UID and GID: the pod must not pin them.
        for context in (pod_security, security):
            assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(context), task_id


def test_the_only_writable_paths_are_sized_empty_dirs(pods: dict[str, dict[str, Any]]) -> None:
    for task_id, pod in pods.items():
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert set(volumes) == {"work", "tmp"}, task_id
        assert all(v["emptyDir"]["sizeLimit"] for v in volumes.values())
        (container,) = pod["spec"]["containers"]
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/work", "/tmp"}


def test_every_job_has_requests_and_limits_with_memory_limit_equal_to_request(
    pods: dict[str, dict[str, Any]], pod_operators: list[Any]
) -> None:
    jobs_by_task = {task_id: job for _, task_id, job, _ in pod_operators}
    for task_id, pod in pods.items():
        resources = pod["spec"]["containers"][0]["resources"]
        spec = job_spec.JOBS[jobs_by_task[task_id]]
        assert resources["requests"]["cpu"] == spec.cpu_request
        assert resources["limits"]["cpu"] == spec.cpu_limit
        assert resources["requests"]["memory"] == resources["limits"]["memory"] == spec.memory
        assert resources["requests"]["ephemeral-storage"] == spec.work_dir_size


def test_credentials_come_only_from_secrets_and_addresses_from_a_config_map(
    pods: dict[str, dict[str, Any]],
) -> None:
    for task_id, pod in pods.items():
        (container,) = pod["spec"]["containers"]
        env = {e["name"]: e for e in container.get("env", [])}
        literal = {name for name, e in env.items() if "value" in e}
        assert literal == LITERAL_ENV, task_id
        for name in set(env) & CREDENTIALS:
            assert set(env[name]) == {"name", "valueFrom"}
            assert set(env[name]["valueFrom"]) == {"secretKeyRef"}
        assert container["envFrom"] == [{"configMapRef": {"name": "settlement-model-config"}}]
    score_env = {e["name"]: e for e in pods["score_shard"]["spec"]["containers"][0]["env"]}
    assert (
        score_env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "settlement-model-warehouse-writer"
    )
    # Only the scoring job publishes, as the pipelines' Kafka user (SASL settings as JSON).
    assert score_env["KAFKA_CONFIG_JSON"]["valueFrom"]["secretKeyRef"] == {
        "name": "settlement-model-kafka",
        "key": "config-json",
    }
    build_env = {e["name"]: e for e in pods["build_training_set"]["spec"]["containers"][0]["env"]}
    assert (
        build_env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "settlement-model-warehouse-reader"
    )
    for task_id in ("train_model", "evaluate_challenger"):
        names = {e["name"] for e in pods[task_id]["spec"]["containers"][0]["env"]}
        assert "DATABASE_URL" not in names, f"{task_id} needs no database"
    # Every job talks to MLflow, as its writer user, from the one Secret.
    for task_id, pod in pods.items():
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        for name, key in (("MLFLOW_TRACKING_USERNAME", "username"), ("MLFLOW_TRACKING_PASSWORD", "password")):
            assert env[name]["valueFrom"]["secretKeyRef"] == {
                "name": "settlement-model-mlflow",
                "key": key,
            }, task_id


def test_service_account_namespace_scheduling_and_lifecycle(
    pods: dict[str, dict[str, Any]], pod_operators: list[Any]
) -> None:
    for task_id, pod in pods.items():
        spec = pod["spec"]
        assert pod["metadata"]["namespace"] == "markets-ops-ml"
        assert spec["serviceAccountName"] == "settlement-model"
        assert spec["automountServiceAccountToken"] is False
        assert spec["nodeSelector"] == {"workload": "batch"}
        assert spec["tolerations"] == [
            {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}
        ]
        assert spec["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError", task_id
    for _, task_id, _, operator in pod_operators:
        assert operator.on_finish_action.value == "delete_succeeded_pod", task_id
        assert operator.deferrable is True
        assert operator.startup_timeout_seconds > 0
        assert operator.execution_timeout is not None
        assert operator.active_deadline_seconds > operator.execution_timeout.total_seconds()
        assert operator.pool == job_spec.POOL
        assert operator.do_xcom_push is False


def test_labels_name_the_dag_task_and_business_date_and_are_valid(pods: dict[str, dict[str, Any]]) -> None:
    for task_id, pod in pods.items():
        labels = pod["metadata"]["labels"]
        assert labels["task"] == task_id
        assert labels["dag"].startswith("settlement_risk_")
        assert labels["business_date"] == "2026-11-20"
        assert labels["app.kubernetes.io/name"] == "settlement-model"
        assert all(LABEL_VALUE.match(value) and len(value) <= 63 for value in labels.values()), labels


def test_with_a_task_context_the_run_is_labelled_in_label_syntax(pod_operators: list[Any]) -> None:
    _, task_id, _, operator = next(item for item in pod_operators if item[1] == "score_shard")
    run_id = "manual__2026-11-20T22:15:00.123456+00:00"
    ti = SimpleNamespace(dag_id="settlement_risk_scoring", task_id=task_id, map_index=1, try_number=2)
    context = {"ti": ti, "run_id": run_id, "dag": SimpleNamespace(parent_dag=None)}
    labels = operator.build_pod_request_obj(context=context, dry_run=True).metadata.labels
    # ':' and '+' are not allowed in label values: removed, and a hash keeps it unique.
    assert labels["run"].startswith("manual__2026-11-20T221500.123456")
    assert labels["run"] == labels["run_id"]
    assert labels["map_index"] == "1"
    assert all(LABEL_VALUE.match(value) and len(value) <= 63 for value in labels.values()), labels


def _terminated_pod(exit_code: int, name: str) -> Any:
    from kubernetes.client import models as k8s

    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="settlement-model-score-abc", namespace="markets-ops-ml"),
        status=k8s.V1PodStatus(
            phase="Failed",
            container_statuses=[
                k8s.V1ContainerStatus(
                    name=name,
                    image=IMAGE,
                    image_id="",
                    ready=False,
                    restart_count=0,
                    state=k8s.V1ContainerState(
                        terminated=k8s.V1ContainerStateTerminated(
                            exit_code=exit_code, reason="Error", message="rule score-refused: no champion"
                        )
                    ),
                )
            ],
        ),
    )


@pytest.mark.parametrize(
    ("exit_code", "retried"),
    [(2, False), (3, False), (1, True), (137, True)],  # usage, refused; a crash, an OOM kill
)
def test_a_pod_that_exits_with_a_contract_error_or_a_refusal_is_not_retried(
    pod_operators: list[Any], exit_code: int, retried: bool
) -> None:
    """The provider's own cleanup runs on a failed pod (its cluster calls stubbed): a plain
    AirflowException (retried) unless the job container's exit code says bad input."""
    from airflow.providers.common.compat.sdk import AirflowException

    from include.markets_ops.airflow.retries import Cause, cause_of
    from include.markets_ops.jobs.spec import JobContractError

    operator = copy.copy(next(op for _, _, job, op in pod_operators if job == "score"))
    remote_pod = _terminated_pod(exit_code, operator.base_container_name)
    cluster_calls = (
        "patch_already_checked",
        "process_pod_deletion",
        "_read_pod_events",
        "_read_pod_container_states",
    )
    with (
        mock.patch.multiple(operator, **dict.fromkeys(cluster_calls, mock.DEFAULT)),
        mock.patch.object(operator, "is_istio_enabled", return_value=False),
        # Reads the pod again while an exit 137 may still become OOMKilled: as it was here.
        mock.patch.object(operator, "_with_settled_kill_reason", side_effect=lambda pod: pod),
        pytest.raises((AirflowException, JobContractError)) as raised,
    ):
        operator.cleanup(pod=remote_pod, remote_pod=remote_pod, context=None)
    assert (cause_of(raised.value) is Cause.BAD_INPUT) is not retried
    # The cause first, in Kubernetes' words, then the termination message (the log's tail).
    message = str(raised.value)
    assert message.startswith(
        f"settlement-model pod markets-ops-ml/settlement-model-score-abc failed: Error (exit {exit_code}"
    )
    assert message.endswith("\nrule score-refused: no champion")
    if not retried:
        from include.markets_ops.jobs.spec import NO_RETRY_EXIT_CODES

        assert f"(exit {exit_code}: {NO_RETRY_EXIT_CODES[exit_code]})" in message


def test_a_succeeded_pod_still_cleans_up_without_error(pod_operators: list[Any]) -> None:
    operator = copy.copy(next(op for _, _, job, op in pod_operators if job == "score"))
    remote_pod = _terminated_pod(0, operator.base_container_name)
    remote_pod.status.phase = "Succeeded"
    with (
        mock.patch.object(operator, "process_pod_deletion") as deletion,
        mock.patch.object(operator, "is_istio_enabled", return_value=False),
    ):
        operator.cleanup(pod=remote_pod, remote_pod=remote_pod, context=None)
    deletion.assert_called_once()
