"""The Kubernetes runtime of the model jobs: one pod per job run, configured for production.

Imported only when ``JOB_RUNTIME=kubernetes`` (the provider's import costs seconds at parse
time). Every setting that differs from the provider's default says why, next to it.
Deployment configuration comes from the environment of the Airflow deployment (``MODEL_POD_*``,
documented in docs/pod-contract.md), never from Variables or connections at parse time.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
from kubernetes.client import models as k8s

from include.markets_ops.errors import BadInputError
from include.markets_ops.jobs.spec import NO_RETRY_EXIT_CODES, JobContractError, JobSpec, Service

WORK_DIR = "/work"
# An emptyDir mount inside the pod (not a host directory).
TMP_DIR = "/tmp"  # noqa: S108  # nosec B108
# A tag (not "latest") or a sha256 digest; registry host and path before them.
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._/:-][a-z0-9]+)*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
JOBS_CALL_KUBERNETES_API = False  # so no service account token is mounted into the pods
ARGUMENT_LABELS = {"--business-date": "business_date", "--training-date": "business_date"}


class ClusterSettingsError(BadInputError):
    """The Kubernetes connection or the pod settings are wrong (credentials, namespace, service
    account): a retry meets the same answer, so the retry policy fails the task at once."""


def validate_image(image: str) -> str:
    """Refuse an image that is not pinned: no tag, ``latest``, or a malformed digest."""
    match = _IMAGE.match(image or "")
    if not match:
        raise ValueError(
            f"MODEL_POD_IMAGE={image!r} is not an image reference (registry/name:tag[@sha256:...])"
        )
    tag, digest = match.group("tag"), match.group("digest")
    if digest:
        return image
    if not tag or tag == "latest":
        raise ValueError(
            f"MODEL_POD_IMAGE={image!r} is not pinned: use a version tag (not latest) or a sha256 digest"
        )
    return image


@dataclass(frozen=True)
class PodSettings:
    """Where and how the model pods run, from the deployment's MODEL_POD_* variables."""

    image: str
    namespace: str = "markets-ops-ml"
    service_account: str = "settlement-model"
    config_map: str = "settlement-model-config"
    # Names of Kubernetes Secrets (not secret values).
    warehouse_writer_secret: str = "settlement-model-warehouse-writer"  # noqa: S105
    warehouse_reader_secret: str = "settlement-model-warehouse-reader"  # noqa: S105
    s3_secret: str = "settlement-model-s3"  # noqa: S105
    mlflow_secret: str | None = "settlement-model-mlflow"  # noqa: S105
    kafka_secret: str | None = "settlement-model-kafka"  # noqa: S105
    # The OpenLineage client's configuration (key config-json); unset, the pods emit no lineage.
    lineage_secret: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    image_pull_secrets: tuple[str, ...] = ()
    kubernetes_conn_id: str = "kubernetes_default"
    priority_class: str | None = None
    # Only for a cluster without a pod network, where the pods reach the services on the node's
    # own loopback (the local lane, docs/kubernetes.md). PodSecurity `restricted` refuses it.
    host_network: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PodSettings:
        env = os.environ if environ is None else environ

        def text(name: str, default: str | None) -> Any:
            return env.get(f"MODEL_POD_{name}") or default

        def json_value(name: str, default: Any, kind: type) -> Any:
            raw = env.get(f"MODEL_POD_{name}")
            if not raw:
                return default
            value = json.loads(raw)
            if not isinstance(value, kind):
                raise ValueError(f"MODEL_POD_{name} must be a JSON {kind.__name__}, got {raw!r}")
            return value

        defaults = cls(image="unset:unset")
        image = env.get("MODEL_POD_IMAGE")
        if not image:
            raise ValueError("JOB_RUNTIME=kubernetes needs MODEL_POD_IMAGE (a pinned model image)")
        return cls(
            image=validate_image(image),
            namespace=text("NAMESPACE", defaults.namespace),
            service_account=text("SERVICE_ACCOUNT", defaults.service_account),
            config_map=text("CONFIG_MAP", defaults.config_map),
            warehouse_writer_secret=text("WAREHOUSE_WRITER_SECRET", defaults.warehouse_writer_secret),
            warehouse_reader_secret=text("WAREHOUSE_READER_SECRET", defaults.warehouse_reader_secret),
            s3_secret=text("S3_SECRET", defaults.s3_secret),
            # "none": a tracking server without authentication (no Secret to reference).
            mlflow_secret=_optional_name(text("MLFLOW_SECRET", defaults.mlflow_secret)),
            # "none": a broker without authentication.
            kafka_secret=_optional_name(text("KAFKA_SECRET", defaults.kafka_secret)),
            lineage_secret=_optional_name(text("LINEAGE_SECRET", defaults.lineage_secret)),
            node_selector=json_value("NODE_SELECTOR", {}, dict),
            tolerations=json_value("TOLERATIONS", [], list),
            image_pull_secrets=tuple(s for s in text("IMAGE_PULL_SECRETS", "").split(",") if s),
            kubernetes_conn_id=text("KUBERNETES_CONN_ID", defaults.kubernetes_conn_id),
            priority_class=text("PRIORITY_CLASS", None),
            host_network=_flag(env, "MODEL_POD_HOST_NETWORK"),
        )


def _optional_name(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() == "none" else value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").strip().lower()
    if raw not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _secrets(spec: JobSpec, settings: PodSettings) -> list[Secret]:
    """Credentials as secretKeyRef environment variables: names in the spec, values never."""
    secrets = []
    if Service.DATABASE in spec.services:
        # The writer role only for the job that writes (score); the training jobs read.
        from include.markets_ops.services.postgres import WAREHOUSE_CONN_ID

        name = (
            settings.warehouse_writer_secret
            if spec.database_conn_id == WAREHOUSE_CONN_ID
            else settings.warehouse_reader_secret
        )
        secrets.append(Secret("env", "DATABASE_URL", name, "database-url"))
    if Service.S3 in spec.services:
        secrets.append(Secret("env", "AWS_ACCESS_KEY_ID", settings.s3_secret, "access-key-id"))
        secrets.append(Secret("env", "AWS_SECRET_ACCESS_KEY", settings.s3_secret, "secret-access-key"))
    if Service.MLFLOW in spec.services and settings.mlflow_secret:
        # The tracking server's basic-auth user (the pipelines' writer), as MLflow's client reads it.
        secrets.append(Secret("env", "MLFLOW_TRACKING_USERNAME", settings.mlflow_secret, "username"))
        secrets.append(Secret("env", "MLFLOW_TRACKING_PASSWORD", settings.mlflow_secret, "password"))
    if Service.KAFKA in spec.services and settings.kafka_secret:
        secrets.append(Secret("env", "KAFKA_CONFIG_JSON", settings.kafka_secret, "config-json"))
    if settings.lineage_secret:
        # Every job emits its own OpenLineage events (settlement_model/lineage.py).
        secrets.append(
            Secret("env", "OPENLINEAGE_CLIENT_CONFIG_JSON", settings.lineage_secret, "config-json")
        )
    return secrets


# The OpenLineage provider's macros, as its documentation invokes them in templates. When the
# provider is disabled its plugin registers no macros: the variable is then empty (the job's run
# has no parent) instead of failing the task's template rendering.
_LINEAGE_PLUGIN = "macros.OpenLineageProviderPlugin"


def _lineage_macro(name: str) -> str:
    return f"{{{{ {_LINEAGE_PLUGIN}.{name}(task_instance) if {_LINEAGE_PLUGIN} is defined else '' }}}}"


def _lineage_env_vars(settings: PodSettings) -> list[k8s.V1EnvVar]:
    """The task's run and its DAG run's, the parents of the job's own run (rendered when the task
    runs: env_vars is a template field); none when the pods emit no lineage."""
    if not settings.lineage_secret:
        return []
    return [
        k8s.V1EnvVar(name="OPENLINEAGE_PARENT_ID", value=_lineage_macro("lineage_parent_id")),
        k8s.V1EnvVar(name="OPENLINEAGE_ROOT_PARENT_ID", value=_lineage_macro("lineage_root_parent_id")),
    ]


def pod_kwargs(spec: JobSpec, settings: PodSettings) -> dict[str, Any]:
    """KubernetesPodOperator arguments for one job (the task id and arguments come from the DAG)."""
    timeout_seconds = int(spec.execution_timeout.total_seconds())
    return {
        "name": f"settlement-model-{spec.name}",
        # Pinned (validated in PodSettings): a rerun runs exactly the code that ran before.
        "image": settings.image,
        # A pinned tag or digest never changes, so a node's cached copy is the right one.
        "image_pull_policy": "IfNotPresent",
        "image_pull_secrets": [k8s.V1LocalObjectReference(name=s) for s in settings.image_pull_secrets],
        # The image's entry point and the job; the DAG supplies only the job's arguments.
        "cmds": ["settlement-model", spec.name],
        "namespace": settings.namespace,
        "kubernetes_conn_id": settings.kubernetes_conn_id,
        # Its own service account with no RBAC rights, and no API token mounted: the jobs
        # never call the Kubernetes API.
        "service_account_name": settings.service_account,
        "automount_service_account_token": JOBS_CALL_KUBERNETES_API,
        "labels": {
            "app.kubernetes.io/name": "settlement-model",
            "app.kubernetes.io/component": spec.name,
            "app.kubernetes.io/part-of": "markets-ops",
            "app.kubernetes.io/managed-by": "airflow",
        },
        # Requests = what the job needs to finish on time; memory limit = request so a job
        # that outgrows its measured footprint is killed instead of starving its node.
        # Ephemeral storage is requested so the pod lands on a node with room for its work
        # directory; the emptyDirs' own size limits bound it.
        "container_resources": k8s.V1ResourceRequirements(
            requests={
                "cpu": spec.cpu_request,
                "memory": spec.memory,
                "ephemeral-storage": spec.work_dir_size,
            },
            limits={"cpu": spec.cpu_limit, "memory": spec.memory},
        ),
        # Pod level: non-root and the runtime's default seccomp profile. No fixed UID or GID:
        # OpenShift's restricted SCC assigns one from the namespace's range, and the image
        # works with any UID (its files are group 0 readable, it writes only to emptyDirs).
        "security_context": k8s.V1PodSecurityContext(
            run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
        ),
        # Container level: nothing to escalate to, no Linux capabilities, an immutable root.
        "container_security_context": k8s.V1SecurityContext(
            run_as_non_root=True,
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            privileged=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        # The only writable paths: a work directory for Parquet files and a /tmp, both
        # emptyDirs sized per job (deleted with the pod).
        "volumes": [
            k8s.V1Volume(name="work", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=spec.work_dir_size)),
            k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Gi")),
        ],
        "volume_mounts": [
            k8s.V1VolumeMount(name="work", mount_path=WORK_DIR),
            k8s.V1VolumeMount(name="tmp", mount_path=TMP_DIR),
        ],
        "env_vars": [
            k8s.V1EnvVar(name="WORK_DIR", value=WORK_DIR),
            k8s.V1EnvVar(name="TMPDIR", value=TMP_DIR),
            k8s.V1EnvVar(name="HOME", value=TMP_DIR),
            k8s.V1EnvVar(name="MPLCONFIGDIR", value=f"{TMP_DIR}/matplotlib"),
            k8s.V1EnvVar(name="PYTHONUNBUFFERED", value="1"),
            k8s.V1EnvVar(name="OMP_NUM_THREADS", value=str(spec.threads)),
            *_lineage_env_vars(settings),
        ],
        # Addresses (S3 endpoint and bucket, MLflow, Kafka bootstrap) from a ConfigMap,
        # credentials from Secrets by reference: no value of either is in the pod spec.
        "configmaps": [settings.config_map],
        "secrets": _secrets(spec, settings),
        "node_selector": dict(settings.node_selector),
        "tolerations": [k8s.V1Toleration(**toleration) for toleration in settings.tolerations],
        "priority_class_name": settings.priority_class,
        "hostnetwork": settings.host_network,
        # Keep failed pods (their logs and events are the triage material); delete succeeded ones,
        # and (ModelJobPodOperator.process_pod_deletion) any still pending or running when the
        # task gives up on them (execution_timeout, an image that cannot start).
        "on_finish_action": "delete_succeeded_pod",
        # A crash before the job writes a termination message still says why, from the log tail.
        "termination_message_policy": "FallbackToLogsOnError",
        "log_events_on_failure": True,
        # The failure names its cause itself (ModelJobPodOperator.cleanup); the whole pod object
        # in the message buried it. The failed pod is kept for anyone who needs it.
        "log_pod_spec_on_failure": False,
        # Every try gets a new pod. A retry that re-attached by labels could adopt the previous
        # try's pod while it is still being deleted (apache/airflow #49466's family).
        "durable": False,
        # A cold node pulls a ~1 GB image: allow for it, then give up instead of waiting forever.
        "startup_timeout_seconds": 600,
        "schedule_timeout_seconds": 900,
        # Kubernetes stops the pod a little after Airflow's own execution_timeout, in case the
        # worker that should have stopped it is gone.
        "active_deadline_seconds": timeout_seconds + 300,
        "termination_grace_period": 60,
        # Wait in the triggerer, not in a worker slot; fetch logs every minute meanwhile.
        "deferrable": True,
        "logging_interval": 60,
        "get_logs": True,
        # Results go to the warehouse, S3 and MLflow: no XCom sidecar container.
        "do_xcom_push": False,
    }


def job_exit_code(remote_pod: Any, container_name: str) -> int | None:
    """The exit code of the pod's job container once it has terminated, else None."""
    state = _container_state(remote_pod, container_name)
    terminated = getattr(state, "terminated", None)
    return None if terminated is None else int(terminated.exit_code)


def _container_state(remote_pod: Any, container_name: str) -> Any:
    statuses = getattr(getattr(remote_pod, "status", None), "container_statuses", None) or []
    for status in statuses:
        if status.name == container_name:
            return status.state
    return None


def failure_cause(remote_pod: Any, container_name: str, event: Mapping[str, Any] | None = None) -> str:
    """One line saying why a model pod failed, in the words Kubernetes uses: the container's
    termination reason and exit code (OOMKilled, Error), why it is still waiting (an image that
    cannot be pulled names the image), the pod's own reason (DeadlineExceeded, Evicted), or the
    trigger's message (the task's execution_timeout)."""
    state = _container_state(remote_pod, container_name)
    terminated, waiting = getattr(state, "terminated", None), getattr(state, "waiting", None)
    if terminated is not None:
        code = int(terminated.exit_code)
        meaning = EXIT_MEANINGS.get(code)
        return f"{terminated.reason or 'terminated'} (exit {code}{f': {meaning}' if meaning else ''})"
    if waiting is not None and waiting.reason:
        return f"{waiting.reason}: {waiting.message or 'no message'}"
    status = getattr(remote_pod, "status", None)
    if status is not None and status.reason:
        return f"{status.reason}: {status.message or 'no message'}"
    if event and event.get("status") == "timeout":
        return f"timed out: {event.get('message')}"
    phase = getattr(status, "phase", None)
    return f"the pod is {phase or 'gone'}" + (f" ({event.get('message')})" if event else "")


# What the model job's exit codes mean (docs/pod-contract.md); 137 is SIGKILL: the memory
# limit (OOMKilled) or the end of a grace period.
EXIT_MEANINGS = {
    **NO_RETRY_EXIT_CODES,
    1: "unexpected error, see the log",
    137: "killed",
    143: "stopped by SIGTERM: the pod was deleted or timed out",
}


class ModelJobPodTrigger(KubernetesPodTrigger):
    """The provider's pod trigger, firing no sooner than FIRST_EVENT_AFTER_SECONDS after it
    starts. A pod that ends within a second or two of the deferral (the trigger fires at once)
    meets a race in Airflow 3.3.2's scheduler: the executor's "success" for the try that
    deferred arrives after the trigger re-queued the task, and the scheduler fails the task as
    "killed externally" (apache/airflow #67287, fixed upstream for this state by #68741, not in
    3.3.2; seen in this project's CI). The wait lets the scheduler take that event first; a
    model job runs far longer, so it costs nothing but for the shortest pods."""

    async def run(self) -> Any:
        import asyncio

        await asyncio.sleep(FIRST_EVENT_AFTER_SECONDS)
        async for event in super().run():
            yield event

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", kwargs


FIRST_EVENT_AFTER_SECONDS = 10.0


# How long a pod killed with exit 137 is read again for its reason (the kubelet syncs a
# terminated pod's status a few times within seconds; containerd's OOM event may come last).
KILL_REASON_SETTLE_SECONDS = 30.0
KILL_REASON_POLL_SECONDS = 2.0


class ModelJobPodOperator(KubernetesPodOperator):
    """The KubernetesPodOperator the model jobs run in, with what the provider's default
    lifecycle leaves out (cncf-kubernetes 10.25.0, tested against a real cluster in
    tests/kubernetes/test_pod_lifecycle.py):

    - a failure says why first (OOMKilled, the image that cannot be pulled, the timeout), and
      exit codes 2 and 3 (bad input, refused) fail without retries, as in the local runtime;
    - no pod outlives its task: one still pending or running when the task gives up on it
      (its execution_timeout, an image pull that cannot succeed) is deleted, not only the
      succeeded ones (apache/airflow #49466); so is one left behind by a deferral that timed out;
    - a pod deleted before its result was read fails the task, never succeeds it (#73117);
    - a setting that cannot work fails at once naming it (the connection's kubeconfig, the
      cluster, MODEL_POD_NAMESPACE, MODEL_POD_SERVICE_ACCOUNT), without retries;
    - the pod carries the DAG, task, run and business date as labels whenever they are known.
    """

    _trigger_event: Mapping[str, Any] | None = None

    def defer(self, *, trigger: Any, method_name: str, kwargs: Any = None, timeout: Any = None) -> Any:
        if type(trigger) is KubernetesPodTrigger:  # see ModelJobPodTrigger
            _, trigger_kwargs = trigger.serialize()
            trigger = ModelJobPodTrigger(**trigger_kwargs)
        return super().defer(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    # --- configuration errors ----------------------------------------------------------------

    def execute(self, context: Any) -> Any:
        self._check_cluster_settings()
        from kubernetes.client.exceptions import ApiException

        try:
            return super().execute(context)
        except ApiException as error:
            raise self._configuration_error(error) from error

    def _check_cluster_settings(self) -> None:
        """One cheap request before anything else: a kubeconfig that cannot be loaded, a cluster
        that does not answer or credentials it refuses fail here, naming the setting."""
        from airflow.sdk.exceptions import AirflowException
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
        from urllib3.exceptions import HTTPError

        try:
            self.client.list_namespaced_pod(self.namespace, limit=1, _request_timeout=15)
        except (ConfigException, FileNotFoundError) as error:
            raise ClusterSettingsError(
                f"the Airflow connection {self.kubernetes_conn_id!r} gives no usable kubeconfig "
                f"({error}): set its kube_config_path or in_cluster (locally, `make k8s-up` writes "
                "var/k8s/airflow.kubeconfig)"
            ) from error
        except HTTPError as error:
            server = self.client.api_client.configuration.host
            raise AirflowException(
                f"the Kubernetes API server {server} (connection {self.kubernetes_conn_id!r}) does not "
                f"answer: {error}; is the cluster up? (locally: `make k8s-up`)"
            ) from error
        except ApiException as error:
            raise self._configuration_error(error) from error

    def _configuration_error(self, error: Any) -> Exception:
        from airflow.sdk.exceptions import AirflowException

        body = str(getattr(error, "body", "") or "")
        if error.status == 401:
            return ClusterSettingsError(
                "the Kubernetes API server refused the credentials of connection "
                f"{self.kubernetes_conn_id!r} (401)"
            )
        if error.status == 404 and "namespaces" in body:
            return ClusterSettingsError(
                f"MODEL_POD_NAMESPACE={self.namespace!r}: no such namespace on the cluster "
                "(deploy/kubernetes creates markets-ops-ml)"
            )
        if error.status == 403 and "service account" in body:
            return ClusterSettingsError(
                f"MODEL_POD_SERVICE_ACCOUNT={self.service_account_name!r}: no such ServiceAccount in "
                f"namespace {self.namespace!r} (deploy/kubernetes creates settlement-model)"
            )
        if error.status == 403:
            return ClusterSettingsError(
                f"MODEL_POD_NAMESPACE={self.namespace!r}: the identity of connection "
                f"{self.kubernetes_conn_id!r} may not run pods there ({error.reason}): a namespace "
                "that does not exist, or one without the Role of deploy/kubernetes/base/airflow-role.yaml"
            )
        return AirflowException(f"Kubernetes API error {error.status} {error.reason}: {body[:500]}")

    # --- the pod's end -------------------------------------------------------------------------

    def trigger_reentry(self, context: Any, event: dict[str, Any]) -> Any:
        from airflow.providers.cncf.kubernetes.utils.pod_manager import PodNotFoundException

        self._trigger_event = event
        gone = PodNotFoundException(
            f"pod {event['namespace']}/{event['name']} was deleted before its result was read "
            f"(the trigger reported {event['status']!r}); a retry runs the job in a new pod"
        )
        try:
            result = super().trigger_reentry(context, event)
        except PodNotFoundException as error:
            raise gone from error
        if self.pod is None:
            # The provider returns early, as a success, when the trigger said "success" but the
            # pod is gone at re-entry (#73117): nothing verified the job's result.
            raise gone
        return result

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        if next_method == "__fail__":
            # The deferral timed out or the trigger crashed: nothing else stops this try's pod.
            self._delete_pod_of_this_try(context)
        return super().resume_execution(next_method, next_kwargs, context)

    def _delete_pod_of_this_try(self, context: Any) -> None:
        from kubernetes.client.exceptions import ApiException

        ti = context["ti"]
        name = ti.xcom_pull(task_ids=self.task_id, key="pod_name", map_indexes=ti.map_index)
        namespace = ti.xcom_pull(task_ids=self.task_id, key="pod_namespace", map_indexes=ti.map_index)
        if not (name and namespace):
            return
        try:
            grace = self.termination_grace_period
            self.client.delete_namespaced_pod(name, namespace, grace_period_seconds=grace)
            self.log.info("Deleted pod %s/%s of the failed deferral", namespace, name)
        except ApiException as error:
            if error.status != 404:
                self.log.exception("Could not delete pod %s/%s", namespace, name)

    def process_pod_deletion(self, pod: k8s.V1Pod, *, reraise: bool = True) -> bool:
        """Keep a failed pod (its logs and events are the triage material); delete any other, in
        the phase it has now (the one cleanup was given may be stale): succeeded, or still pending
        or running when the task gives up on it."""
        from kubernetes.client.exceptions import ApiException

        if pod is None:
            return False
        try:
            current = self.pod_manager.read_pod(pod)
        except ApiException as error:
            if error.status == 404:
                return False
            if reraise:
                raise
            self.log.exception("Could not read pod %s", pod.metadata.name)
            return False
        phase = current.status.phase if current.status else None
        if phase == "Failed":
            self.log.info("Keeping failed pod %s/%s for triage", pod.metadata.namespace, pod.metadata.name)
            return False
        self.log.info("Deleting pod %s/%s (phase %s)", pod.metadata.namespace, pod.metadata.name, phase)
        try:
            self.pod_manager.delete_pod(current)
        except ApiException:
            if reraise:
                raise
            self.log.exception("Could not delete pod %s", pod.metadata.name)
            return False
        return True

    def cleanup(
        self,
        pod: k8s.V1Pod,
        remote_pod: k8s.V1Pod,
        xcom_result: dict | None = None,
        context: Any = None,
    ) -> None:
        """Both the deferrable and the synchronous paths end here (post_complete_action). The
        provider raises "Pod X returned a failure." for any failed pod (retried); this says why,
        and turns exit codes 2 and 3 of the pod contract (bad input a retry would meet again)
        into JobContractError, which the retry policy fails without retries."""
        from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

        try:
            super().cleanup(pod=pod, remote_pod=remote_pod, xcom_result=xcom_result, context=context)
        except AirflowSkipException:
            raise
        except AirflowException as error:
            remote_pod = self._with_settled_kill_reason(remote_pod)
            cause = failure_cause(remote_pod, self.base_container_name, self._trigger_event)
            name = f"{remote_pod.metadata.namespace}/{remote_pod.metadata.name}"
            detail = str(error).split("\n", 1)[1:]  # the termination message (the log's tail)
            message = f"settlement-model pod {name} failed: {cause}" + (f"\n{detail[0]}" if detail else "")
            if job_exit_code(remote_pod, self.base_container_name) in NO_RETRY_EXIT_CODES:
                raise JobContractError(message) from error
            raise AirflowException(message) from error

    def _with_settled_kill_reason(self, remote_pod: k8s.V1Pod) -> k8s.V1Pod:
        """The pod as it is once its kill reason is known. containerd can report a container
        the kernel killed for its memory limit as "Error" (exit 137) and name it OOMKilled a
        moment later, when its OOM event is handled after the exit (containerd #8180); the
        kubelet publishes the new reason at its next sync of the pod. Read it again for a while
        rather than call an OOM kill an error."""
        state = _container_state(remote_pod, self.base_container_name)
        terminated = getattr(state, "terminated", None)
        if terminated is None or terminated.exit_code != 137 or terminated.reason == "OOMKilled":
            return remote_pod
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        deadline = time.monotonic() + KILL_REASON_SETTLE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(KILL_REASON_POLL_SECONDS)
            try:
                current = self.pod_manager.read_pod(remote_pod)
            except (ApiException, HTTPError):  # what was read before still makes the message
                self.log.warning("Could not read pod %s again for its kill reason", remote_pod.metadata.name)
                return remote_pod
            current_state = getattr(_container_state(current, self.base_container_name), "terminated", None)
            if current_state is not None and current_state.reason == "OOMKilled":
                return current
        return remote_pod

    # --- labels ------------------------------------------------------------------------------------

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> k8s.V1Pod:
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        labels = {"dag": self.dag_id, "task": self.task_id}
        if context:
            labels["run"] = context["run_id"]
        arguments = [str(a) for a in self.arguments] if isinstance(self.arguments, list) else []
        for flag, label in ARGUMENT_LABELS.items():
            if flag in arguments[:-1]:
                labels[label] = arguments[arguments.index(flag) + 1]
        pod.metadata.labels.update({key: make_safe_label_value(str(value)) for key, value in labels.items()})
        return pod
