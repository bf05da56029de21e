"""``evaluate``: the challenger and the current champion on the same later-in-time window.

The challenger is the version registered from this training's MLflow run; the baseline is
the champion alias (or a version chosen by hand). Both score the snapshot's evaluation
window; the metrics are logged on the challenger's MLflow run (linked to its logged model)
and recorded on the challenger's model version as tags, where the promotion gate reads them
(tag ``evaluation``: one JSON document). The rows' predictions go to S3 next to the
snapshot, so model quality can be compared with the ground truth where one exists.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from settlement_model import contract, features, metrics, registry, storage, training_set
from settlement_model.contract import JobEnvironment, RefusedError

log = logging.getLogger(__name__)

EVALUATION_TAG = "evaluation"


def challenger_of(client: Any, name: str, manifest: dict[str, Any]) -> registry.ResolvedModel:
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
) -> dict[str, Any]:
    import mlflow
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = training_set.read_manifest(env, training_date)
    client = registry.client(env.mlflow_tracking_uri)
    challenger = challenger_of(client, env.model_name, manifest)
    baseline, baseline_error = _baseline(client, env.model_name, against_alias, against_version)
    if baseline is not None and baseline.version == challenger.version:
        baseline, baseline_error = None, f"version {challenger.version} is already the {against_alias}"

    frame = training_set.load_part(env, manifest, "evaluation")
    labels = frame[features.LABEL].astype("int8").to_numpy()
    model_input = features.model_frame(frame)
    challenger_scores = registry.load(challenger).predict_proba(model_input)[:, 1]
    result: dict[str, Any] = {
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
        "challenger": metrics.quality(labels, challenger_scores, top_k_fraction),
        "baseline_version": baseline.version if baseline else None,
        "baseline_alias": against_alias if against_version is None else None,
        "baseline": None,
        "baseline_error": baseline_error or None,
        "training_set": manifest["parts"]["evaluation"]["uri"],
    }
    columns = {
        "as_of_date": frame["as_of_date"],
        "trade_id": frame["trade_id"],
        features.LABEL: frame[features.LABEL],
        "challenger_score": challenger_scores,
    }
    if baseline is not None:
        baseline_scores = registry.load(baseline).predict_proba(model_input)[:, 1]
        result["baseline"] = metrics.quality(labels, baseline_scores, top_k_fraction)
        columns["baseline_score"] = baseline_scores
    log.info("evaluation: %s", json.dumps(result, sort_keys=True))

    predictions_key = contract.predictions_key(training_date, challenger.version)
    predictions = env.work_dir / Path(predictions_key).name
    pq.write_table(pa.table(columns), predictions, compression="zstd")
    stored = storage.upload(
        env,
        predictions,
        predictions_key,
        len(labels),
        "application/vnd.apache.parquet",
    )
    result["predictions"] = stored.uri

    version = client.get_model_version(env.model_name, challenger.version)
    with mlflow.start_run(run_id=challenger.run_id):
        named = {f"challenger_{k}": v for k, v in result["challenger"].items()}
        if result["baseline"]:
            named.update({f"baseline_{k}": v for k, v in result["baseline"].items()})
        for key, value in named.items():
            # Linked to the logged model, so the metrics show on the version's page too.
            mlflow.log_metric(key, value, model_id=getattr(version, "model_id", None))
        mlflow.log_dict(result, f"evaluation/against_{result['baseline_version'] or 'none'}.json")
    client.set_model_version_tag(
        env.model_name,
        challenger.version,
        EVALUATION_TAG,
        json.dumps(result, sort_keys=True, separators=(",", ":")),
    )
    for key in ("roc_auc", "calibration_error"):
        client.set_model_version_tag(
            env.model_name, challenger.version, f"evaluation.{key}", f"{result['challenger'][key]:.6f}"
        )
    return result
