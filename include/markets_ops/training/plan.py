"""A training run's plan: the trigger form's parameters (names declared here, the windows'
defaults in the job contract, settlement_model.contract, the jobs' own),
the three jobs' arguments, the S3 keys of the snapshot the jobs hand over through, and which
MLflow version and run a training date's snapshot produced.

The three jobs (build-training-set, train, evaluate) run as model jobs and hand over through
S3 and MLflow, as the job contract says: the snapshot's manifest at
``training-sets/training_date=YYYY-MM-DD/manifest.json`` names the training's MLflow run, the
run registered the challenger version, and ``evaluate`` tagged that version with its results.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from settlement_model import contract

ROLLBACK_PARAM = "rollback_to_previous_champion"
EMERGENCY_REASON_PARAM = "emergency_rollback_reason"  # set: the rollback asks no approval
AGAINST_VERSION_PARAM = "evaluate_against_version"
GATE_CHALLENGER_PARAM = "gate_challenger"  # set: no training, the standing challenger is gated again
IGNORE_FEATURES_PARAM = "ignore_features"
TRAIN_DAYS_PARAM = "train_days"
HOLDOUT_DAYS_PARAM = "holdout_days"
BACKFILL_RUN_TYPE = "backfill"
TRAINING_SET_TAG = "training_set_run_id"  # set by the train job on every version it registers


@dataclass(frozen=True)
class TrainingPlan:
    training_date: dt.date
    rollback: bool
    against_version: str | None
    ignore_features: tuple[str, ...]
    train_days: int
    holdout_days: int
    run_id: str
    # The standing challenger's version when it is gated again (nothing is trained), else None.
    challenger_version: str | None = None

    @property
    def mode(self) -> str:
        if self.rollback:
            return "rollback"
        return "challenger" if self.challenger_version else "train"

    def build_arguments(self) -> list[str]:
        return [
            "--training-date", self.training_date.isoformat(),
            "--train-days", str(self.train_days),
            "--holdout-days", str(self.holdout_days),
            "--run-id", self.run_id,
        ]  # fmt: skip

    def train_arguments(self) -> list[str]:
        ignore = ["--ignore-features", ",".join(self.ignore_features)] if self.ignore_features else []
        return ["--training-date", self.training_date.isoformat(), "--run-id", self.run_id, *ignore]

    def evaluate_arguments(self) -> list[str]:
        against = ["--against-version", self.against_version] if self.against_version else []
        candidate = ["--candidate-version", self.challenger_version] if self.challenger_version else []
        return ["--training-date", self.training_date.isoformat(), *against, *candidate]

    def as_xcom(self) -> dict[str, Any]:
        return {
            "training_date": self.training_date.isoformat(),
            "mode": self.mode,
            "challenger_version": self.challenger_version,
            "build_arguments": self.build_arguments(),
            "train_arguments": self.train_arguments(),
            "evaluate_arguments": self.evaluate_arguments(),
        }


def candidate_version(
    s3: Any, bucket: str, mlflow_client: Any, model_name: str, training_date: dt.date
) -> str:
    """The version the training run registered: snapshot manifest -> MLflow run -> version."""
    from include.markets_ops.training.promotion import GateError

    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=contract.training_set_manifest_key(training_date))["Body"].read()
    )
    run_id = manifest["mlflow_run_id"]
    if not run_id.isalnum():
        raise GateError(
            f"unexpected MLflow run id {run_id!r} in {contract.training_set_manifest_key(training_date)}"
        )
    versions = [
        v
        for v in mlflow_client.search_model_versions(
            f"name = '{model_name}' and tags.{TRAINING_SET_TAG} = '{run_id}'"
        )
        if v.status == "READY"
    ]
    if not versions:
        raise GateError(
            f"no version of {model_name} was trained on the snapshot of {training_date} (run {run_id})"
        )
    return str(max(int(v.version) for v in versions))


def training_run_of(
    s3: Any, bucket: str, mlflow_client: Any, model_name: str, training_date: dt.date
) -> dict[str, str]:
    """The MLflow run that registered the version trained on ``training_date``'s snapshot."""
    version = candidate_version(s3, bucket, mlflow_client, model_name, training_date)
    run_id = mlflow_client.get_model_version(model_name, version).run_id
    experiment_id = mlflow_client.get_run(run_id).info.experiment_id
    return {"experiment_id": str(experiment_id), "run_id": run_id, "version": version}
