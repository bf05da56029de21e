"""The job contract (docs/pod-contract.md): the environment, the exit codes, and the names both
sides use for what the jobs read and write.

A job reads its services' addresses and credentials from environment variables only: in
Kubernetes they come from a ConfigMap and Secrets, locally the Airflow operator builds them
from the Airflow connections. Arguments (business date, shard, model) come on the command
line. A missing variable is reported by name before any work starts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Exit codes the callers (Airflow, a person at a shell) can tell apart.
EXIT_OK = 0
EXIT_FAILED = 1  # unexpected error (a service down, a bug): worth a retry
EXIT_USAGE = 2  # bad arguments or environment: argparse's own code; fix the deployment
EXIT_REFUSED = 3  # a precondition does not hold (no champion, schema mismatch, no data)
EXIT_STOPPED = 143  # stopped by SIGTERM (128 + 15, as a shell reports it): worth a retry


class ContractError(Exception):
    """The job was started without what the contract requires (argument or variable)."""


class RefusedError(Exception):
    """The job will not run on this input: the message says which rule and why."""


# Which variables each service needs; a job names the services it uses.
REQUIRED: dict[str, tuple[str, ...]] = {
    "database": ("DATABASE_URL",),
    "s3": ("S3_BUCKET",),
    "mlflow": ("MLFLOW_TRACKING_URI",),
    "kafka": ("KAFKA_BOOTSTRAP_SERVERS",),
}

# Names of every variable the contract defines (the local runtime passes exactly these).
CONTRACT_VARIABLES = (
    "DATABASE_URL",
    "S3_ENDPOINT_URL",
    "S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",  # the tracking server's basic auth, read by MLflow's client
    "MLFLOW_TRACKING_PASSWORD",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_CONFIG_JSON",
    "MLFLOW_MODEL_NAME",
    "WORK_DIR",
    # OpenLineage (lineage.py), all optional: the client's transport ({"transport": {...}}; unset,
    # lineage is off) and the Airflow task and DAG run whose child the job's run is.
    "OPENLINEAGE_CLIENT_CONFIG_JSON",
    "OPENLINEAGE_PARENT_ID",
    "OPENLINEAGE_ROOT_PARENT_ID",
)
DEFAULT_MODEL_NAME = "settlement_fail_risk"


@dataclass(frozen=True)
class JobEnvironment:
    database_url: str = ""
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None
    aws_region: str | None = None
    mlflow_tracking_uri: str = ""
    model_name: str = DEFAULT_MODEL_NAME
    kafka_config: dict[str, Any] = field(default_factory=dict)
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))

    @classmethod
    def from_environ(
        cls, services: tuple[str, ...], environ: Mapping[str, str] | None = None
    ) -> JobEnvironment:
        env = os.environ if environ is None else environ
        missing = [name for service in services for name in REQUIRED[service] if not env.get(name)]
        if missing:
            raise ContractError(
                f"missing environment variable(s) {', '.join(missing)}: see docs/pod-contract.md"
            )
        kafka_config: dict[str, Any] = {}
        if env.get("KAFKA_BOOTSTRAP_SERVERS"):
            kafka_config = {
                **_kafka_extra(env.get("KAFKA_CONFIG_JSON")),
                "bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"],
            }
        # In a pod, WORK_DIR is an emptyDir mount (the root filesystem is read-only).
        work_dir = Path(env.get("WORK_DIR") or tempfile.gettempdir())
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            s3_bucket=env.get("S3_BUCKET", ""),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_DEFAULT_REGION") or None,
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI", ""),
            model_name=env.get("MLFLOW_MODEL_NAME") or DEFAULT_MODEL_NAME,
            kafka_config=kafka_config,
            work_dir=work_dir,
        )


def _kafka_extra(raw: str | None) -> dict[str, Any]:
    """Extra confluent-kafka settings (security protocol, SASL, ...) as a JSON object."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ContractError(f"KAFKA_CONFIG_JSON is not valid JSON: {error.msg}") from error
    if not isinstance(value, dict):
        raise ContractError("KAFKA_CONFIG_JSON must be a JSON object of confluent-kafka settings")
    return value


# --- The names half: what the jobs and the DAG side call the same objects and tables -----------
# Declared here only: the Airflow side imports this module (the Airflow image has the package;
# include/markets_ops/scoring and training), the pod cannot import the Airflow side.

# The training and evaluation windows, in calendar days, when nobody says otherwise (the job's
# --train-days / --holdout-days, and the training DAG's trigger form).
DEFAULT_TRAIN_DAYS = 60
DEFAULT_HOLDOUT_DAYS = 10
# At most this many settled rows of the train window go into a snapshot, weighted; every failed
# row does (sampling.py): ~1.5 GB as a model frame, so the train job stays under 6 GB.
DEFAULT_MAX_SETTLED_ROWS = 3_000_000
TRAINING_SET_MANIFEST = "manifest.json"


def scores_prefix(business_date: dt.date) -> str:
    """Where a business date's scores are in S3: the DAG's manifest, and one folder per scoring
    attempt holding its shards' parts (``scores_run_prefix``)."""
    return f"scores/business_date={business_date:%Y-%m-%d}/"


# What an attempt's name may hold: it is one folder of an S3 key (no "/"), readable in a URL.
_ATTEMPT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_NOT_IN_ATTEMPT_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def scoring_attempt(scoring_run_id: str, unique_suffix: str = "") -> str:
    """The name of a scoring attempt's folder: the run id with everything but letters, digits,
    ".", "_" and "-" replaced by "_" (Airflow's run ids hold ":" and "+"), then ``unique_suffix``.

    The DAG adds a fresh random suffix to every plan, so a cleared (or recreated) run never writes
    over the parts that the date's current manifest lists; a job started without one (by
    hand, by a test) writes under its run id's name."""
    safe = _NOT_IN_ATTEMPT_NAME.sub("_", scoring_run_id).strip("._-")[:150] or "run"
    return f"{safe}-{unique_suffix}" if unique_suffix else safe


def check_attempt(attempt: str) -> str:
    if not _ATTEMPT_NAME.fullmatch(attempt):
        raise ValueError(
            f"a scoring attempt is 1-200 letters, digits, '.', '_' or '-' (not starting with '.'), "
            f"got {attempt!r}"
        )
    return attempt


def scores_run_prefix(business_date: dt.date, attempt: str) -> str:
    """One scoring attempt's parts: the manifest names the attempt whose parts it lists, so the
    previous attempt's stay readable until a new manifest replaces it."""
    return f"{scores_prefix(business_date)}run={check_attempt(attempt)}/"


def part_name(shard_index: int, shard_count: int) -> str:
    return f"part-{shard_index:05d}-of-{shard_count:05d}.parquet"


def part_key(business_date: dt.date, attempt: str, shard_index: int, shard_count: int) -> str:
    return f"{scores_run_prefix(business_date, attempt)}{part_name(shard_index, shard_count)}"


def staging_table_name(business_date: dt.date, shard_index: int, shard_count: int) -> str:
    """A dry run shard's work table in the staging schema (the swap drops the date's leftovers)."""
    return f"trade_scores_{business_date:%Y%m%d}_s{shard_index:03d}_of_{shard_count:03d}"


TRADE_SCORES = "trade_scores"  # the champion's scores
SHADOW_SCORES = "shadow_scores"  # the challenger's, scored beside them (never in the champion's outputs)


def next_partition_name(business_date: dt.date, scores_table: str = TRADE_SCORES) -> str:
    """The date's next partition of ml.trade_scores or ml.shadow_scores, as
    ml.prepare_scores_partition names it (include/sql/migrations/0009_scores_partition_functions.sql)."""
    if scores_table not in (TRADE_SCORES, SHADOW_SCORES):
        raise ValueError(f"{scores_table!r} is not {TRADE_SCORES} or {SHADOW_SCORES}")
    return f"{scores_table}_p{business_date:%Y%m%d}_next"


def training_set_prefix(training_date: dt.date) -> str:
    return f"training-sets/training_date={training_date:%Y-%m-%d}"


def training_set_manifest_key(training_date: dt.date) -> str:
    """The snapshot's manifest: it names the training's MLflow run (written last)."""
    return f"{training_set_prefix(training_date)}/{TRAINING_SET_MANIFEST}"


def predictions_key(training_date: dt.date, version: str) -> str:
    """The evaluation's rows and scores for ``version`` (the ground-truth report reads them)."""
    return f"{training_set_prefix(training_date)}/evaluation_predictions_v{version}.parquet"
