"""What the settlement_risk_training DAG does around the training pods: plan, gate, rollback, report.

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

ROLLBACK_PARAM = "rollback_to_previous_champion"
AGAINST_VERSION_PARAM = "evaluate_against_version"
IGNORE_FEATURES_PARAM = "ignore_features"
TRAIN_DAYS_PARAM = "train_days"
HOLDOUT_DAYS_PARAM = "holdout_days"
BACKFILL_RUN_TYPE = "backfill"
TRAINING_SET_TAG = "training_set_run_id"  # set by the train job on every version it registers


def manifest_key(training_date: dt.date) -> str:
    return f"training-sets/training_date={training_date:%Y-%m-%d}/manifest.json"


def predictions_key(training_date: dt.date, version: str) -> str:
    return f"training-sets/training_date={training_date:%Y-%m-%d}/evaluation_predictions_v{version}.parquet"


@dataclass(frozen=True)
class TrainingPlan:
    training_date: dt.date
    rollback: bool
    against_version: str | None
    ignore_features: tuple[str, ...]
    train_days: int
    holdout_days: int
    run_id: str

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
        return ["--training-date", self.training_date.isoformat(), *against]

    def as_xcom(self) -> dict[str, Any]:
        return {
            "training_date": self.training_date.isoformat(),
            "mode": "rollback" if self.rollback else "train",
            "build_arguments": self.build_arguments(),
            "train_arguments": self.train_arguments(),
            "evaluate_arguments": self.evaluate_arguments(),
        }


def plan(context: Any) -> dict[str, Any]:
    from include.markets_ops.airflow.business_date import resolve_business_date

    params = context.get("params") or {}
    return TrainingPlan(
        training_date=resolve_business_date(context),
        rollback=bool(params.get(ROLLBACK_PARAM)),
        against_version=params.get(AGAINST_VERSION_PARAM) or None,
        ignore_features=tuple(params.get(IGNORE_FEATURES_PARAM) or ()),
        train_days=int(params.get(TRAIN_DAYS_PARAM) or 60),
        holdout_days=int(params.get(HOLDOUT_DAYS_PARAM) or 10),
        run_id=str(context["run_id"]),
    ).as_xcom()


def run_info(context: Any) -> Any:
    from include.markets_ops.promotion import RunInfo

    dag_run = context["dag_run"]
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    return RunInfo(
        dag_id=dag_run.dag_id,
        dag_run_id=dag_run.run_id,
        triggered_by=getattr(dag_run, "triggering_user_name", None) or run_type,
        is_backfill=run_type == BACKFILL_RUN_TYPE,
    )


def candidate_version(
    s3: Any, bucket: str, mlflow_client: Any, model_name: str, training_date: dt.date
) -> str:
    """The version the training run registered: snapshot manifest -> MLflow run -> version."""
    from include.markets_ops.promotion import GateError

    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key(training_date))["Body"].read())
    run_id = manifest["mlflow_run_id"]
    if not run_id.isalnum():
        raise GateError(f"unexpected MLflow run id {run_id!r} in {manifest_key(training_date)}")
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


def training_run_target(ti: Any) -> dict[str, str] | None:
    """train_model's link target: the MLflow run that registered this DAG run's version (the
    training date from plan_training's XCom)."""
    from include.markets_ops.airflow import connections
    from include.markets_ops.services import model_registry

    training_date = ti.xcom_pull(task_ids="plan_training", key="training_date")
    if not training_date:
        return None
    return training_run_of(
        connections.s3_client(),
        connections.s3_bucket(),
        connections.mlflow_client(),
        model_registry.MODEL_NAME,
        dt.date.fromisoformat(training_date),
    )


def training_run_of(
    s3: Any, bucket: str, mlflow_client: Any, model_name: str, training_date: dt.date
) -> dict[str, str]:
    """The MLflow run that registered the version trained on ``training_date``'s snapshot."""
    version = candidate_version(s3, bucket, mlflow_client, model_name, training_date)
    run_id = mlflow_client.get_model_version(model_name, version).run_id
    experiment_id = mlflow_client.get_run(run_id).info.experiment_id
    return {"experiment_id": str(experiment_id), "run_id": run_id, "version": version}


def record_decision_links(decision: dict[str, Any]) -> None:
    """The gate's (or rollback's) links: the version it decided on, its mlops.model-events message."""
    from include.markets_ops.airflow import links
    from include.markets_ops.services.topics import MODEL_EVENTS

    version = decision.get("candidate_version") or decision.get("champion_after")
    if version:
        links.record(links.MLFLOW_MODEL_VERSION, model_name=decision["model_name"], version=version)
    links.record(links.KAFKA_TOPIC, topic=MODEL_EVENTS.name, key=decision["event_key"])


def gate(context: Any, training_date: str) -> dict[str, Any]:
    from include.markets_ops import promotion
    from include.markets_ops.airflow import connections
    from include.markets_ops.services import model_registry

    mlflow_client = connections.mlflow_client()
    version = candidate_version(
        connections.s3_client(),
        connections.s3_bucket(),
        mlflow_client,
        model_registry.MODEL_NAME,
        dt.date.fromisoformat(training_date),
    )
    services = promotion.Services(mlflow_client, connections.postgres_url(), connections.kafka_config())
    result = promotion.run_gate(services, version, promotion.Thresholds.from_variables(), run_info(context))
    _announce_champion(context, result)
    return result


def rollback(context: Any) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowFailException

    from include.markets_ops import promotion
    from include.markets_ops.airflow import connections

    try:
        services = promotion.Services(
            connections.mlflow_client(), connections.postgres_url(), connections.kafka_config()
        )
        result = promotion.run_rollback(services, run_info(context))
    except promotion.GateError as error:
        raise AirflowFailException(str(error)) from error
    _announce_champion(context, result)
    return result


def _announce_champion(context: Any, result: dict[str, Any]) -> None:
    """An asset event on ``settlement_fail_risk@champion`` only when the champion changed."""
    from include.markets_ops.airflow.assets import CHAMPION_CHANGES, CHAMPION_MODEL

    if result["champion_after"] and result["champion_after"] != result["champion_before"]:
        context["outlet_events"][CHAMPION_CHANGES].add(
            CHAMPION_MODEL, extra={"decision": result["decision"], "version": result["champion_after"]}
        )


def report_quality(gated: dict[str, Any], training_date: str) -> dict[str, Any]:
    """Model vs Bayes-optimal ROC AUC on the evaluation window, where ground truth exists."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from include.markets_ops import model_quality, promotion
    from include.markets_ops.airflow import connections
    from include.markets_ops.services import model_registry, postgres

    try:
        upstream_url = connections.postgres_url(postgres.UPSTREAM_CONN_ID)
    except AirflowNotFoundException:
        return {
            "available": False,
            "reason": f"no {postgres.UPSTREAM_CONN_ID} connection: no ground truth here",
        }
    mlflow_client = connections.mlflow_client()
    version = gated["candidate_version"]
    evaluation = promotion.evaluation_of(mlflow_client, model_registry.MODEL_NAME, version)
    report = model_quality.report_for_version(
        mlflow_client,
        connections.s3_client(),
        bucket=connections.s3_bucket(),
        upstream_database_url=upstream_url,
        model_name=model_registry.MODEL_NAME,
        version=version,
        evaluation=evaluation,
        predictions_key=predictions_key(dt.date.fromisoformat(training_date), version),
    )
    return {"available": report.pop("available", True), **report}
