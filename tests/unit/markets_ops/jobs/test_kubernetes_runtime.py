"""The Kubernetes runtime: pinned images only, settings from MODEL_POD_*, and ModelJobPodOperator's
lifecycle decisions without a cluster (the provider's calls stubbed). The same lifecycle cases run
against the real API server in tests/kubernetes/test_pod_lifecycle.py; tests/dags/test_pod_specs.py
renders the pods themselves.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from include.markets_ops.jobs.kubernetes_runtime import (
    ModelJobPodOperator,
    PodSettings,
    failure_cause,
    pod_kwargs,
)
from include.markets_ops.jobs.spec import JOBS


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/markets-ops/settlement-model:0.1.0",
        "settlement-model:2026.11.1",
        "registry.example.com:5000/ml/settlement-model@sha256:" + "a" * 64,
        "registry.example.com/ml/settlement-model:0.1.0@sha256:" + "0" * 64,
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    from include.markets_ops.jobs.kubernetes_runtime import validate_image

    assert validate_image(image) == image


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/markets-ops/settlement-model",
        "registry.example.com/markets-ops/settlement-model:latest",
        "settlement-model@sha256:1234",
        "",
    ],
)
def test_unpinned_images_are_refused(image: str) -> None:
    from include.markets_ops.jobs.kubernetes_runtime import validate_image

    with pytest.raises(ValueError, match="MODEL_POD_IMAGE"):
        validate_image(image)


def test_pod_settings_come_from_the_deployment_environment() -> None:
    from include.markets_ops.jobs.kubernetes_runtime import PodSettings

    settings = PodSettings.from_environ(
        {
            "MODEL_POD_IMAGE": "registry.example.com/ml/settlement-model:1.2.3",
            "MODEL_POD_NAMESPACE": "ml-batch",
            "MODEL_POD_NODE_SELECTOR": '{"workload": "batch"}',
            "MODEL_POD_TOLERATIONS": '[{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}]',
            "MODEL_POD_IMAGE_PULL_SECRETS": "registry-a,registry-b",  # pragma: allowlist secret
        }
    )
    assert settings.namespace == "ml-batch"
    assert settings.node_selector == {"workload": "batch"}
    assert settings.tolerations[0]["key"] == "batch"
    assert settings.image_pull_secrets == ("registry-a", "registry-b")
    assert settings.service_account == "settlement-model"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "settlement-model-mlflow"), ("mlflow-writer", "mlflow-writer"), ("none", None)],
)
def test_the_mlflow_secret_is_named_by_the_deployment_or_switched_off(
    value: str | None, expected: str | None
) -> None:
    environ = {"MODEL_POD_IMAGE": "settlement-model:1.2.3"}
    if value is not None:
        environ["MODEL_POD_MLFLOW_SECRET"] = value  # pragma: allowlist secret
    settings = PodSettings.from_environ(environ)
    assert settings.mlflow_secret == expected
    env = {
        secret.deploy_target: (secret.secret, secret.key)
        for secret in pod_kwargs(JOBS["train"], settings)["secrets"]
    }
    if expected is None:
        assert not {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"} & set(env)
    else:
        assert env["MLFLOW_TRACKING_USERNAME"] == (expected, "username")
        assert env["MLFLOW_TRACKING_PASSWORD"] == (expected, "password")


def test_kubernetes_without_an_image_or_with_bad_json_is_refused() -> None:
    from include.markets_ops.jobs.kubernetes_runtime import PodSettings

    with pytest.raises(ValueError, match="needs MODEL_POD_IMAGE"):
        PodSettings.from_environ({})
    with pytest.raises(ValueError, match="MODEL_POD_NODE_SELECTOR must be a JSON dict"):
        PodSettings.from_environ({"MODEL_POD_IMAGE": "m:1", "MODEL_POD_NODE_SELECTOR": "[]"})


IMAGE = "registry.example.com/markets-ops/settlement-model:1.0.0"


def _operator() -> ModelJobPodOperator:
    kwargs = pod_kwargs(JOBS["score"], PodSettings(image=IMAGE))
    return ModelJobPodOperator(task_id="score", arguments=["--business-date", "2026-11-27"], **kwargs)


def _pod(phase: str, **state: Any) -> k8s.V1Pod:
    statuses = []
    if state:
        statuses = [
            k8s.V1ContainerStatus(
                name="base",
                image=IMAGE,
                image_id="",
                ready=False,
                restart_count=0,
                state=k8s.V1ContainerState(**state),
            )
        ]
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="settlement-model-score-x", namespace="markets-ops-ml"),
        status=k8s.V1PodStatus(phase=phase, container_statuses=statuses),
    )


def test_the_cause_names_oom_kills_missing_images_pod_reasons_and_timeouts() -> None:
    oom = _pod("Failed", terminated=k8s.V1ContainerStateTerminated(exit_code=137, reason="OOMKilled"))
    assert failure_cause(oom, "base") == "OOMKilled (exit 137: killed)"
    refused = _pod("Failed", terminated=k8s.V1ContainerStateTerminated(exit_code=3, reason="Error"))
    assert failure_cause(refused, "base") == "Error (exit 3: refused)"
    missing = _pod(
        "Pending",
        waiting=k8s.V1ContainerStateWaiting(
            reason="ErrImagePull", message=f'failed to pull and unpack image "{IMAGE}": not found'
        ),
    )
    assert (
        failure_cause(missing, "base")
        == f'ErrImagePull: failed to pull and unpack image "{IMAGE}": not found'
    )
    deadline = _pod("Failed")
    deadline.status.reason, deadline.status.message = "DeadlineExceeded", "Pod was active too long"
    assert failure_cause(deadline, "base") == "DeadlineExceeded: Pod was active too long"
    running = _pod("Running", running=k8s.V1ContainerStateRunning())
    event = {"status": "timeout", "message": "reached the task's execution_timeout"}
    assert failure_cause(running, "base", event) == "timed out: reached the task's execution_timeout"


@pytest.mark.parametrize(
    ("phase", "deleted"), [("Failed", False), ("Succeeded", True), ("Running", True), ("Pending", True)]
)
def test_failed_pods_are_kept_and_every_other_pod_is_deleted(phase: str, deleted: bool) -> None:
    """Read again before deciding: the pod cleanup was handed may be a stale copy."""
    operator = _operator()
    stale = _pod("Running")
    manager = mock.Mock()
    manager.read_pod.return_value = _pod(phase)
    with mock.patch.object(type(operator), "pod_manager", new=manager):
        assert operator.process_pod_deletion(stale) is deleted
    assert manager.delete_pod.called is deleted


def test_a_pod_already_gone_needs_no_deletion() -> None:
    operator = _operator()
    manager = mock.Mock()
    manager.read_pod.side_effect = ApiException(status=404, reason="Not Found")
    with mock.patch.object(type(operator), "pod_manager", new=manager):
        assert operator.process_pod_deletion(_pod("Running")) is False
    manager.delete_pod.assert_not_called()


@pytest.mark.parametrize("status", ["success", "failed", "error"])
def test_a_pod_gone_at_reentry_fails_the_task_saying_it_was_deleted(status: str) -> None:
    """apache/airflow #73117: for a "success" event the provider returns (the task succeeds)
    when the pod is gone at re-entry; for the others it raises a message about deferral."""
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodNotFoundException

    operator = _operator()
    hook = mock.Mock()
    hook.get_pod.side_effect = ApiException(status=404, reason="Not Found")
    event = {
        "status": status,
        "name": "settlement-model-score-x",
        "namespace": "markets-ops-ml",
        "message": "",
    }
    expected = (
        f"pod markets-ops-ml/settlement-model-score-x was deleted before its result was read .*'{status}'"
    )
    with (
        mock.patch.object(type(operator), "hook", new=hook),
        pytest.raises(PodNotFoundException, match=expected),
    ):
        operator.trigger_reentry(context={}, event=event)


@pytest.mark.parametrize(
    ("status", "body", "names", "retried"),
    [
        (404, '{"message": "namespaces \\"ml\\" not found"}', "MODEL_POD_NAMESPACE='markets-ops-ml'", False),
        (
            403,
            '{"message": "error looking up service account markets-ops-ml/settlement-model"}',
            "MODEL_POD_SERVICE_ACCOUNT='settlement-model'",
            False,
        ),
        (
            403,
            '{"message": "pods is forbidden"}',
            "MODEL_POD_NAMESPACE='markets-ops-ml': the identity",
            False,
        ),
        (401, "", "refused the credentials of connection 'kubernetes_default'", False),
        (500, "etcd timeout", "Kubernetes API error 500", True),
    ],
)
def test_api_errors_of_a_setting_name_the_setting_and_are_not_retried(
    status: int, body: str, names: str, retried: bool
) -> None:
    from include.markets_ops.airflow.retries import Cause, cause_of

    error = ApiException(status=status, reason="reason")
    error.body = body
    translated = _operator()._configuration_error(error)
    assert names in str(translated)
    assert (cause_of(translated) is Cause.BAD_INPUT) is not retried


def test_an_unusable_kubeconfig_names_the_connection() -> None:
    from kubernetes.config.config_exception import ConfigException

    from include.markets_ops.jobs.kubernetes_runtime import ClusterSettingsError

    operator = _operator()
    client = mock.Mock()
    client.list_namespaced_pod.side_effect = ConfigException(
        "Invalid kube-config file. No configuration found."
    )
    with (
        mock.patch.object(type(operator), "client", new=client),
        pytest.raises(
            ClusterSettingsError, match="connection 'kubernetes_default' gives no usable kubeconfig"
        ),
    ):
        operator._check_cluster_settings()


def test_a_cluster_that_does_not_answer_is_named_and_retried() -> None:
    from airflow.sdk.exceptions import AirflowException
    from urllib3.exceptions import MaxRetryError

    from include.markets_ops.airflow.retries import Cause, cause_of

    operator = _operator()
    client = mock.Mock()
    client.api_client.configuration.host = "https://127.0.0.1:26443"
    client.list_namespaced_pod.side_effect = MaxRetryError(None, "/api/v1/pods", "Connection refused")
    with (
        mock.patch.object(type(operator), "client", new=client),
        pytest.raises(AirflowException, match=r"https://127\.0\.0\.1:26443 .* does not answer") as raised,
    ):
        operator._check_cluster_settings()
    assert cause_of(raised.value) is Cause.TRANSIENT  # retried with backoff, by its cause


def test_host_network_is_an_explicit_true_or_false() -> None:
    base = {"MODEL_POD_IMAGE": IMAGE}
    assert PodSettings.from_environ(base).host_network is False
    assert PodSettings.from_environ({**base, "MODEL_POD_HOST_NETWORK": "true"}).host_network is True
    with pytest.raises(ValueError, match="MODEL_POD_HOST_NETWORK must be true or false"):
        PodSettings.from_environ({**base, "MODEL_POD_HOST_NETWORK": "yes"})


def _killed(reason: str) -> k8s.V1Pod:
    return _pod("Failed", terminated=k8s.V1ContainerStateTerminated(exit_code=137, reason=reason))


def test_a_kill_reported_as_error_is_read_again_until_it_is_named_oomkilled() -> None:
    """containerd #8180: the OOM event can be handled after the exit, so the first status
    says Error; the message must still name the memory limit."""
    operator = _operator()
    manager = mock.Mock()
    manager.read_pod.side_effect = [_killed("Error"), _killed("OOMKilled")]
    with (
        mock.patch.object(type(operator), "pod_manager", new=manager),
        mock.patch("include.markets_ops.jobs.kubernetes_runtime.time.sleep"),
    ):
        settled = operator._with_settled_kill_reason(_killed("Error"))
    assert failure_cause(settled, "base") == "OOMKilled (exit 137: killed)"
    assert manager.read_pod.call_count == 2


def test_a_kill_that_stays_error_keeps_its_reason_after_the_settle_time() -> None:
    operator = _operator()
    manager = mock.Mock()
    manager.read_pod.return_value = _killed("Error")
    clock = iter(range(0, 1000, 5))
    with (
        mock.patch.object(type(operator), "pod_manager", new=manager),
        mock.patch("include.markets_ops.jobs.kubernetes_runtime.time.sleep"),
        mock.patch("include.markets_ops.jobs.kubernetes_runtime.time.monotonic", side_effect=clock),
    ):
        settled = operator._with_settled_kill_reason(_killed("Error"))
    assert failure_cause(settled, "base") == "Error (exit 137: killed)"
    assert manager.read_pod.call_count == 5  # at 5, 10 ... 25 s of the fake clock; 30 s ends it


@pytest.mark.parametrize("code", [1, 3, 143])
def test_other_exits_are_not_read_again(code: int) -> None:
    operator = _operator()
    manager = mock.Mock()
    failed = _pod("Failed", terminated=k8s.V1ContainerStateTerminated(exit_code=code, reason="Error"))
    with mock.patch.object(type(operator), "pod_manager", new=manager):
        assert operator._with_settled_kill_reason(failed) is failed
    manager.read_pod.assert_not_called()


def test_the_deferral_uses_the_trigger_that_waits_before_its_first_event() -> None:
    """apache/airflow #67287: an event the instant a short pod ends can fail the task."""
    import asyncio

    from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
    from airflow.sdk.exceptions import TaskDeferred

    from include.markets_ops.jobs import kubernetes_runtime

    operator = _operator()
    provider_trigger = KubernetesPodTrigger(
        pod_name="p",
        pod_namespace="markets-ops-ml",
        trigger_start_time=dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
        base_container_name="base",
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.defer(trigger=provider_trigger, method_name="trigger_reentry")
    trigger = deferred.value.trigger
    assert type(trigger) is kubernetes_runtime.ModelJobPodTrigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "include.markets_ops.jobs.kubernetes_runtime.ModelJobPodTrigger"
    assert kwargs == provider_trigger.serialize()[1]

    slept: list[float] = []

    async def first_event() -> Any:
        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async def provider_run(_self: Any) -> Any:
            yield "event"

        with (
            mock.patch("asyncio.sleep", sleep),
            mock.patch.object(KubernetesPodTrigger, "run", provider_run),
        ):
            return [event async for event in trigger.run()]

    assert asyncio.run(first_event()) == ["event"]
    assert slept == [kubernetes_runtime.FIRST_EVENT_AFTER_SECONDS]


# --- lineage ------------------------------------------------------------------------------------------

LINEAGE_PARENTS = ("OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID")
LINEAGE_ON = {"MODEL_POD_LINEAGE_SECRET": "settlement-model-lineage"}  # pragma: allowlist secret


def _lineage_pod_operator(job: str, environ: dict[str, str]) -> ModelJobPodOperator:
    settings = PodSettings.from_environ({"MODEL_POD_IMAGE": IMAGE, **environ})
    return ModelJobPodOperator(
        task_id="score_shard", arguments=["--business-date", "2026-11-27"], **pod_kwargs(JOBS[job], settings)
    )


def _rendered_lineage_variables(operator: ModelJobPodOperator, macros: Any) -> dict[str, str]:
    import jinja2

    # Airflow renders task templates with StrictUndefined: a missing macro would fail the task.
    operator.render_template_fields(
        {"macros": macros, "task_instance": "the-ti"},
        jinja_env=jinja2.Environment(undefined=jinja2.StrictUndefined),
    )
    return {var.name: var.value for var in operator.env_vars if var.name in LINEAGE_PARENTS}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_with_the_lineage_secret_every_pod_gets_the_transport_and_its_parents(job: str) -> None:
    operator = _lineage_pod_operator(job, LINEAGE_ON)
    secrets = {secret.deploy_target: (secret.secret, secret.key) for secret in operator.secrets}
    assert secrets["OPENLINEAGE_CLIENT_CONFIG_JSON"] == ("settlement-model-lineage", "config-json")
    # The provider's documented macros, rendered when the task runs.
    templates = {var.name: var.value for var in operator.env_vars if var.name in LINEAGE_PARENTS}
    assert (
        "macros.OpenLineageProviderPlugin.lineage_parent_id(task_instance)"
        in templates["OPENLINEAGE_PARENT_ID"]
    )
    assert (
        "macros.OpenLineageProviderPlugin.lineage_root_parent_id(task_instance)"
        in templates["OPENLINEAGE_ROOT_PARENT_ID"]
    )
    plugin = SimpleNamespace(
        lineage_parent_id=lambda ti: f"markets-ops/dag.score_shard/{ti}",
        lineage_root_parent_id=lambda ti: f"markets-ops/dag/{ti}",
    )
    assert _rendered_lineage_variables(operator, SimpleNamespace(OpenLineageProviderPlugin=plugin)) == {
        "OPENLINEAGE_PARENT_ID": "markets-ops/dag.score_shard/the-ti",
        "OPENLINEAGE_ROOT_PARENT_ID": "markets-ops/dag/the-ti",
    }


def test_a_disabled_openlineage_provider_leaves_the_parents_empty_instead_of_failing_the_task() -> None:
    operator = _lineage_pod_operator("score", LINEAGE_ON)
    # A disabled provider registers no macros: macros.OpenLineageProviderPlugin does not exist.
    assert _rendered_lineage_variables(operator, SimpleNamespace()) == dict.fromkeys(LINEAGE_PARENTS, "")


@pytest.mark.parametrize("value", [None, "none"])
def test_without_the_lineage_secret_the_pods_get_no_lineage_variable(value: str | None) -> None:
    environ = {} if value is None else {"MODEL_POD_LINEAGE_SECRET": value}
    operator = _lineage_pod_operator("score", environ)
    names = {var.name for var in operator.env_vars} | {secret.deploy_target for secret in operator.secrets}
    assert "OPENLINEAGE_CLIENT_CONFIG_JSON" not in names
    assert not set(LINEAGE_PARENTS) & names
    assert "KAFKA_CONFIG_JSON" in names  # the other secrets are still there
