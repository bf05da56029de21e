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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value
from airflow.providers.cncf.kubernetes.secret import Secret
from kubernetes.client import models as k8s

from include.markets_ops.jobs.spec import NO_RETRY_EXIT_CODES, JobSpec, Service

WORK_DIR = "/work"
# An emptyDir mount inside the pod (not a host directory).
TMP_DIR = "/tmp"  # noqa: S108  # nosec B108
# A tag (not "latest") or a sha256 digest; registry host and path before them.
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._/:-][a-z0-9]+)*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
JOBS_CALL_KUBERNETES_API = False  # so no service account token is mounted into the pods
ARGUMENT_LABELS = {"--business-date": "business_date", "--training-date": "business_date"}


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
    kafka_secret: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    image_pull_secrets: tuple[str, ...] = ()
    kubernetes_conn_id: str = "kubernetes_default"
    priority_class: str | None = None

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
            kafka_secret=text("KAFKA_SECRET", None),
            node_selector=json_value("NODE_SELECTOR", {}, dict),
            tolerations=json_value("TOLERATIONS", [], list),
            image_pull_secrets=tuple(s for s in text("IMAGE_PULL_SECRETS", "").split(",") if s),
            kubernetes_conn_id=text("KUBERNETES_CONN_ID", defaults.kubernetes_conn_id),
            priority_class=text("PRIORITY_CLASS", None),
        )


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
    if Service.KAFKA in spec.services and settings.kafka_secret:
        secrets.append(Secret("env", "KAFKA_CONFIG_JSON", settings.kafka_secret, "config-json"))
    return secrets


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
        ],
        # Addresses (S3 endpoint and bucket, MLflow, Kafka bootstrap) from a ConfigMap,
        # credentials from Secrets by reference: no value of either is in the pod spec.
        "configmaps": [settings.config_map],
        "secrets": _secrets(spec, settings),
        "node_selector": dict(settings.node_selector),
        "tolerations": [k8s.V1Toleration(**toleration) for toleration in settings.tolerations],
        "priority_class_name": settings.priority_class,
        # Keep failed pods (their logs and events are the triage material), delete the rest.
        "on_finish_action": "delete_succeeded_pod",
        # A crash before the job writes a termination message still says why, from the log tail.
        "termination_message_policy": "FallbackToLogsOnError",
        "log_events_on_failure": True,
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
    statuses = getattr(getattr(remote_pod, "status", None), "container_statuses", None) or []
    for status in statuses:
        terminated = getattr(getattr(status, "state", None), "terminated", None)
        if status.name == container_name and terminated is not None:
            return int(terminated.exit_code)
    return None


class ModelJobPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator that also labels its pod with the DAG, task, run and business date,
    and fails without retries when the job exits with a contract error or a refusal.

    The provider adds dag_id/task_id/run_id labels only when a task context exists; these are
    added whenever they are known, each made a valid label value.
    """

    def cleanup(
        self,
        pod: k8s.V1Pod,
        remote_pod: k8s.V1Pod,
        xcom_result: dict | None = None,
        context: Any = None,
    ) -> None:
        """The provider raises a plain AirflowException for any failed pod (retried); exit codes 2
        and 3 of the pod contract mean bad input a retry would meet again, as in local_runtime.
        Both the deferrable and the synchronous paths end here (post_complete_action)."""
        from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException
        from airflow.sdk.exceptions import AirflowFailException

        try:
            super().cleanup(pod=pod, remote_pod=remote_pod, xcom_result=xcom_result, context=context)
        except AirflowSkipException:
            raise
        except AirflowException as error:
            code = job_exit_code(remote_pod, self.base_container_name)
            if code in NO_RETRY_EXIT_CODES:
                raise AirflowFailException(
                    f"settlement-model pod exited with code {code} ({NO_RETRY_EXIT_CODES[code]}): {error}"
                ) from error
            raise

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
