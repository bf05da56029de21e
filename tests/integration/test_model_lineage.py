"""Dataset lineage on the stack, from a row of ml.trade_scores to the bytes the model learned from,
and back: the row names its model version; the version's MLflow run names its training and
evaluation sets (S3 object and digest, as the jobs logged them); each object's bytes in S3 match
that digest and the snapshot manifest's full SHA-256; the version's evaluation names the same
evaluation object; and the version's scores of the night are the rows the date's S3 manifest
says it produced."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import psycopg
from settlement_model import contract

from include.markets_ops.services import model_registry
from tests.integration.pipeline_stack import s3_client, scores_manifest


def _bucket_and_key(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def test_a_score_row_traces_to_the_bytes_its_model_learned_from_and_back(
    stack: dict[str, str], nightly_pipeline: dict[str, Any]
) -> None:
    day: dt.date = nightly_pipeline["day"]
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        trade_id, model_name, version = reader.execute(
            "SELECT trade_id, model_name, model_version FROM ml.trade_scores WHERE business_date = %s "
            "ORDER BY trade_id LIMIT 1",
            (day,),
        ).fetchone()
        scored_by_version = reader.execute(
            "SELECT count(*) FROM ml.trade_scores "
            "WHERE business_date = %s AND model_name = %s AND model_version = %s",
            (day, model_name, version),
        ).fetchone()[0]

    # The row -> its version -> the run that trained it -> the run's datasets.
    client = model_registry.client(stack["MLFLOW_TRACKING_URI"])
    model_version = client.get_model_version(model_name, version)
    run = client.get_run(model_version.run_id)
    evaluation = json.loads(model_version.tags["evaluation"])
    training_date = evaluation["training_date"]
    names = {
        f"settlement-train-{training_date}": "training",
        f"settlement-evaluation-{training_date}": "evaluation",
    }
    datasets = {
        names[entry.dataset.name]: entry.dataset
        for entry in run.inputs.dataset_inputs
        if entry.dataset.name in names
    }
    assert set(datasets) == {"training", "evaluation"}, f"{trade_id}: run {run.info.run_id} inputs"
    manifest_key = contract.training_set_manifest_key(dt.date.fromisoformat(training_date))
    s3 = s3_client(stack)
    manifest = json.loads(s3.get_object(Bucket=stack["S3_BUCKET"], Key=manifest_key)["Body"].read())
    parts = {"training": manifest["parts"]["train"], "evaluation": manifest["parts"]["evaluation"]}

    # Each dataset -> its S3 object, whose bytes match the logged digest and the manifest's SHA-256.
    for context, dataset in datasets.items():
        uri = json.loads(dataset.source)["uri"]
        assert uri == parts[context]["uri"]
        bucket, key = _bucket_and_key(uri)
        digest = hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        assert digest == parts[context]["sha256"]
        assert dataset.digest == digest[:16]
    assert evaluation["training_set"] == parts["evaluation"]["uri"]  # the gate judged on the same set
    # The snapshot's own run (the build-training-set job's) logged the same bytes. (The date's
    # manifest names the latest snapshot of the date: a retraining on it writes identical bytes.)
    snapshot_run = client.get_run(model_version.tags["training_set_run_id"])
    assert {(d.dataset.name, d.dataset.digest) for d in snapshot_run.inputs.dataset_inputs} >= {
        (d.name, d.digest) for d in datasets.values()
    }

    # And back: the version -> the night's scores it produced, as the date's S3 manifest says.
    night = scores_manifest(stack, day)
    assert (night["model_name"], str(night["model_version"])) == (model_name, version)
    assert scored_by_version == night["row_count"] > 0
