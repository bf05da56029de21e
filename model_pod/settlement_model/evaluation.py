"""``evaluate``: the challenger and the current champion on the same later-in-time window.

The challenger is the version registered from this training's MLflow run; the baseline is
the champion alias (or a version chosen by hand). Both score the snapshot's evaluation
window. The gate's metrics (ROC AUC, PR AUC, Brier score, calibration error) are computed by
``mlflow.models.evaluate`` on that window, with the evaluation set's S3 object and digest as
the dataset, and logged on the challenger's MLflow run (``challenger_*``, ``baseline_*``;
linked to its logged model); the whole result is recorded on the challenger's model version
as tags, where the promotion gate reads it (tag ``evaluation``: one JSON document). The rows'
predictions go to S3 next to the snapshot, so model quality can be compared with the ground
truth where one exists.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from settlement_model import contract, features, metrics, registry, storage, training_set
from settlement_model.contract import JobEnvironment, RefusedError

log = logging.getLogger(__name__)

EVALUATION_TAG = "evaluation"


def challenger_of(
    client: Any, name: str, manifest: dict[str, Any], candidate_version: str | None = None
) -> registry.ResolvedModel:
    """The version to evaluate: the one asked for (a standing challenger gated again, on this
    snapshot's window), else the one trained on this snapshot."""
    if candidate_version is not None:
        return registry.resolve(client, name, None, candidate_version)
    snapshot_run_id = manifest["mlflow_run_id"]
    versions = registry.versions_of_training_set(client, name, snapshot_run_id)
    if not versions:
        raise RefusedError(
            f"no version of {name} was trained on the snapshot of run {snapshot_run_id}: run `train` first"
        )
    return registry.pinned(name, str(versions[0].version), versions[0].run_id)


def _baseline(
    client: Any, name: str, alias: str | None, version: str | None
) -> tuple[registry.ResolvedModel | None, str]:
    """The model to compare with, or None and why (no champion yet, schema changed)."""
    try:
        model = registry.resolve(client, name, alias, version)
        registry.check_input_schema(model)
    except RefusedError as refused:
        return None, str(refused)
    return model, ""


def evaluate(
    env: JobEnvironment,
    training_date: dt.date,
    against_alias: str | None,
    against_version: str | None,
    top_k_fraction: float,
    *,
    candidate_version: str | None = None,
) -> dict[str, Any]:
    import mlflow

    manifest = training_set.read_manifest(env, training_date)
    client = registry.client(env.mlflow_tracking_uri)
    challenger = challenger_of(client, env.model_name, manifest, candidate_version)
    baseline, baseline_error = _baseline(client, env.model_name, against_alias, against_version)
    if baseline is not None and baseline.version == challenger.version:
        baseline, baseline_error = None, f"version {challenger.version} is already the {against_alias}"

    models = {"challenger": challenger} | ({"baseline": baseline} if baseline is not None else {})
    predictors = {role: _fail_probability(registry.load(model)) for role, model in models.items()}
    key = contract.predictions_key(training_date, challenger.version)
    predictions = _PredictionsFile(env.work_dir / Path(key).name)
    with predictions:
        window = training_set.score_window(
            training_set.part_file(env, manifest, "evaluation"), predictors, on_batch=predictions.write
        )
    labels, scores = window.labels, window.scores
    result = _result_document(
        env, training_date, manifest, labels, challenger, baseline, baseline_error
    )  # fmt: skip
    result["baseline_alias"] = against_alias if against_version is None else None
    result["predictions"] = storage.upload(
        env, predictions.path, key, len(labels), "application/vnd.apache.parquet"
    ).uri

    model_id = getattr(client.get_model_version(env.model_name, challenger.version), "model_id", None)
    dataset = _evaluation_dataset(manifest, training_date)
    with mlflow.start_run(run_id=challenger.run_id):
        for role, role_scores in scores.items():
            result[role] = _measured(
                dataset, labels, role_scores, role, model_id=model_id, top_k_fraction=top_k_fraction
            )
        mlflow.log_dict(result, f"evaluation/against_{result['baseline_version'] or 'none'}.json")
    log.info("evaluation: %s", json.dumps(result, sort_keys=True))
    _tag_version(client, env.model_name, challenger.version, result)
    return result


def _result_document(  # noqa: PLR0917 (the evaluation's facts, each named by its caller)
    env: JobEnvironment,
    training_date: dt.date,
    manifest: dict[str, Any],
    labels: Any,
    challenger: registry.ResolvedModel,
    baseline: registry.ResolvedModel | None,
    baseline_error: str,
) -> dict[str, Any]:
    """The evaluation's facts before the metrics: window, rows, versions (the ``evaluation`` tag)."""
    return {
        "training_date": training_date.isoformat(),
        "window": {
            "start": manifest["windows"]["eval_start"],
            "end": manifest["windows"]["eval_end"],
            "labels_known_by": manifest["windows"]["eval_labels_known_by"],
        },
        "rows": len(labels),
        "positives": int(labels.sum()),
        "model_name": env.model_name,
        "challenger_version": challenger.version,
        "challenger": None,
        "baseline_version": baseline.version if baseline else None,
        "baseline": None,
        "baseline_error": baseline_error or None,
        "training_set": manifest["parts"]["evaluation"]["uri"],
    }


def _evaluation_dataset(manifest: dict[str, Any], training_date: dt.date) -> dict[str, str]:
    """What names the evaluation set in MLflow: the S3 object and its digest, as the train job logs it."""
    part = manifest["parts"]["evaluation"]
    return {
        "source": part["uri"],
        "digest": part["sha256"][:16],
        "name": f"settlement-evaluation-{training_date}",
    }


def _measured(
    dataset: dict[str, str],
    labels: Any,
    scores: Any,
    role: str,
    *,
    model_id: str | None,
    top_k_fraction: float,
) -> dict[str, float]:
    """One model's metrics on the window: the gate's through ``mlflow.models.evaluate`` (logged
    on the run as ``<role>_<metric>``, with the evaluation set as the run's dataset), the others
    (top k, rates) logged beside them."""
    import math

    import mlflow
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas

    data = from_pandas(
        pd.DataFrame({features.LABEL: labels, "score": scores}),
        targets=features.LABEL,
        predictions="score",
        **dataset,
    )
    evaluated = mlflow.models.evaluate(
        data=data,
        model_type=None,  # only the gate's metrics (no SHAP, no plots: the train job logs those)
        extra_metrics=metrics.mlflow_metrics(),
        evaluator_config={"metric_prefix": f"{role}_"},
        model_id=model_id,
    )
    gate = {name: evaluated.metrics.get(f"{role}_{name}") for name in metrics.GATE_METRICS}
    missing = sorted(name for name, value in gate.items() if value is None or math.isnan(value))
    if missing:
        raise RuntimeError(f"mlflow.models.evaluate computed no {', '.join(missing)} for the {role}")
    measured = {**metrics.quality(labels, scores, top_k_fraction), **gate}
    for name, value in measured.items():
        if name not in gate:  # linked to the logged model, so they show on the version's page too
            mlflow.log_metric(f"{role}_{name}", value, model_id=model_id)
    return measured


def _fail_probability(model: Any) -> Callable[[Any], Any]:
    return lambda model_input: model.predict_proba(model_input)[:, 1]


class _PredictionsFile:
    """The rows' scores next to the snapshot (for the ground-truth comparison), written batch by
    batch as the window is scored: as-of date, trade, label and each model's score."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: Any = None

    def write(self, frame: Any, scores: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({
            "as_of_date": frame["as_of_date"],
            "trade_id": frame["trade_id"],
            features.LABEL: frame[features.LABEL],
            **{f"{role}_score": role_scores for role, role_scores in scores.items()},
        })  # fmt: skip
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table)

    def __enter__(self) -> _PredictionsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()


def _tag_version(client: Any, model_name: str, version: str, result: dict[str, Any]) -> None:
    """The evaluation on the version, where the promotion gate reads it."""
    client.set_model_version_tag(
        model_name, version, EVALUATION_TAG, json.dumps(result, sort_keys=True, separators=(",", ":"))
    )
    for key in ("roc_auc", "calibration_error"):
        client.set_model_version_tag(
            model_name, version, f"evaluation.{key}", f"{result['challenger'][key]:.6f}"
        )
