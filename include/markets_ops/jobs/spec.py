"""What each model job is and needs: its services, database role, resources and timeout (``JOBS``),
and which runtime runs them (``job_runtime``). Imports no runtime: both runtimes import it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from settlement_model import contract

from include.markets_ops.errors import BadInputError
from include.markets_ops.services import postgres

JOB_RUNTIME_VARIABLE = "JOB_RUNTIME"
MODEL_POD_DIR = Path(__file__).resolve().parents[3] / "model_pod"
POOL = "model_pods"  # airflow_settings.yaml: bounds how many model jobs run at once
# The pod contract's exit codes a retry cannot help: bad arguments or environment, and a refused
# precondition. Both runtimes fail fast on them.
NO_RETRY_EXIT_CODES = {contract.EXIT_USAGE: "contract error", contract.EXIT_REFUSED: "refused"}


class JobContractError(BadInputError):
    """A model job exited with one of NO_RETRY_EXIT_CODES: the retry policy fails it at once."""


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
