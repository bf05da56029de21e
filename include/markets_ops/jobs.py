"""The one way DAGs run the model jobs: ``model_job`` / ``mapped_model_job``.

Two runtimes behind the same declaration, chosen by the ``JOB_RUNTIME`` environment variable
of the Airflow deployment (read when DAG files are parsed, like any deployment setting):

- ``local`` (the default, the embedded runtime): the job's entry point runs as a separate
  local process (``python -m settlement_model <job> <arguments>``) with only the job
  contract's environment, built from the Airflow connections when the task runs
  (local_jobs.py).
- ``kubernetes``: a KubernetesPodOperator running the pinned model image, configured as
  production needs it (kubernetes_jobs.py, which alone imports the Kubernetes provider:
  importing it costs seconds, so the local runtime never pays it at parse time).

Both take the same ``arguments`` (templated, and mappable with ``expand``), and both fail the
task when the job exits non-zero. The job contract is docs/pod-contract.md.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from include.markets_ops.services import postgres

JOB_RUNTIME_VARIABLE = "JOB_RUNTIME"
MODEL_POD_DIR = Path(__file__).resolve().parents[2] / "model_pod"
POOL = "model_pods"  # airflow_settings.yaml: bounds how many model jobs run at once
# The pod contract's exit codes (model_pod/settlement_model/contract.py) a retry cannot help:
# bad arguments or environment, and a refused precondition. Both runtimes fail fast on them.
EXIT_USAGE = 2
EXIT_REFUSED = 3
NO_RETRY_EXIT_CODES = {EXIT_USAGE: "contract error", EXIT_REFUSED: "refused"}


class Runtime(StrEnum):
    LOCAL = "local"
    KUBERNETES = "kubernetes"


class Service(StrEnum):
    """What a job talks to: decides which parts of the contract's environment it receives."""

    DATABASE = "database"
    S3 = "s3"
    MLFLOW = "mlflow"
    KAFKA = "kafka"


@dataclass(frozen=True)
class JobSpec:
    """One entry point of the model image and what it needs to run."""

    name: str
    services: tuple[Service, ...]
    # Least privilege: only `score` writes to the warehouse; the training jobs read.
    database_conn_id: str | None
    cpu_request: str
    cpu_limit: str
    memory: str  # request = limit: a job that outgrows it is killed, never slows its node down
    work_dir_size: str  # emptyDir size limit of the job's work directory
    execution_timeout: dt.timedelta
    # Compute threads (OpenMP: tree fitting and prediction). Set explicitly because a pod sees
    # its node's cores, not its CPU limit: the default would oversubscribe. Scoring scales
    # by shards (one core each) instead.
    threads: int = 1


JOBS: dict[str, JobSpec] = {
    "build-training-set": JobSpec(
        "build-training-set",
        (Service.DATABASE, Service.S3, Service.MLFLOW),
        postgres.REPORTING_CONN_ID,
        cpu_request="500m",
        cpu_limit="2",
        memory="2Gi",  # streams batches to Parquet: memory does not grow with the window
        work_dir_size="8Gi",
        execution_timeout=dt.timedelta(minutes=45),
    ),
    "train": JobSpec(
        "train",
        (Service.S3, Service.MLFLOW),
        None,
        cpu_request="2",
        cpu_limit="4",
        memory="6Gi",  # the training window is held in memory to fit the trees
        work_dir_size="8Gi",
        execution_timeout=dt.timedelta(hours=1),
        threads=4,
    ),
    "evaluate": JobSpec(
        "evaluate",
        (Service.S3, Service.MLFLOW),
        None,
        cpu_request="1",
        cpu_limit="2",
        memory="3Gi",
        work_dir_size="4Gi",
        execution_timeout=dt.timedelta(minutes=30),
        threads=2,
    ),
    "score": JobSpec(
        "score",
        (Service.DATABASE, Service.S3, Service.MLFLOW, Service.KAFKA),
        postgres.WAREHOUSE_CONN_ID,
        cpu_request="1",
        cpu_limit="2",
        memory="2Gi",  # measured peak < 1.5 GB at 5 million trades per shard (make bench)
        work_dir_size="4Gi",  # the shard's Parquet part before upload
        execution_timeout=dt.timedelta(minutes=45),
    ),
}


def job_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    value = (os.environ if environ is None else environ).get(JOB_RUNTIME_VARIABLE, Runtime.LOCAL.value)
    try:
        return Runtime(value.strip().lower())
    except ValueError as error:
        raise ValueError(
            f"{JOB_RUNTIME_VARIABLE}={value!r}: expected one of {[r.value for r in Runtime]}"
        ) from error


def _operator_class_and_kwargs(job: str, environ: Mapping[str, str] | None) -> tuple[Any, dict[str, Any]]:
    spec = JOBS[job]
    common: dict[str, Any] = {
        "pool": POOL,
        "execution_timeout": spec.execution_timeout,
    }
    if job_runtime(environ) is Runtime.KUBERNETES:
        from include.markets_ops.kubernetes_jobs import ModelJobPodOperator, PodSettings, pod_kwargs

        return ModelJobPodOperator, {**common, **pod_kwargs(spec, PodSettings.from_environ(environ))}
    from include.markets_ops.local_jobs import LocalJobOperator

    return LocalJobOperator, {**common, "job": spec.name}


def model_job(
    task_id: str,
    job: str,
    arguments: Any,
    environ: Mapping[str, str] | None = None,
    extra_links: tuple[Any, ...] = (),
    **task_kwargs: Any,
) -> Any:
    """An operator running ``settlement-model <job> <arguments>`` in the configured runtime.

    ``arguments`` is a list of strings, a template, or an XComArg (resolved when the task runs);
    ``extra_links`` are this task's operator extra links (links.ArtifactLink with a resolver).
    """
    operator_class, kwargs = _operator_class_and_kwargs(job, environ)
    operator = operator_class(task_id=task_id, arguments=arguments, **{**kwargs, **task_kwargs})
    if extra_links:
        operator.operator_extra_links = tuple(extra_links)  # per task: the class attribute is shared
    return operator


def mapped_model_job(
    task_id: str, job: str, arguments: Any, environ: Mapping[str, str] | None = None, **task_kwargs: Any
) -> Any:
    """One mapped task instance per argument list in ``arguments`` (dynamic task mapping)."""
    operator_class, kwargs = _operator_class_and_kwargs(job, environ)
    return operator_class.partial(task_id=task_id, **{**kwargs, **task_kwargs}).expand(arguments=arguments)
