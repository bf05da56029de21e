"""Round trips through each service, with the same clients the pipelines use.

Run by the ``stack_smoke`` DAG and by the stack tests: a query, an S3 put/get, a Kafka
produce-and-consume, an MLflow run with an artifact. Each returns what it saw.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from include.markets_ops.services.topics import STACK_CHECKS

STACK_CHECKS_EXPERIMENT = "stack-checks"  # the MLflow experiment of the round trips


def check_postgres(connection: Any) -> dict[str, Any]:
    """Who the open psycopg ``connection`` is connected as; it is closed afterwards."""
    with connection:
        row = connection.execute(
            "SELECT current_user, current_database(), current_setting('server_version')"
        ).fetchone()
    return {"user": row[0], "database": row[1], "server_version": row[2]}


def check_s3(s3: Any, bucket: str, run_id: str) -> dict[str, Any]:
    """An object written with the S3 client ``s3`` and read back."""
    key = f"stack-checks/{run_id}.json"
    body = json.dumps({"run_id": run_id, "nonce": uuid.uuid4().hex})
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    read_back = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    if read_back != body:
        raise RuntimeError(f"s3://{bucket}/{key} read back different content")
    return {"object": f"s3://{bucket}/{key}", "bytes": len(body)}


def check_kafka(config: dict[str, Any], run_id: str, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """Produce one message with a unique key and consume the topic until it comes back."""
    from include.markets_ops.services.kafka import find_messages, publish

    key = f"{run_id}:{uuid.uuid4().hex}"
    publish(config, STACK_CHECKS.name, [(key, {"run_id": run_id})])
    found = find_messages(config, STACK_CHECKS.name, {key}, timeout_seconds)
    return {"topic": STACK_CHECKS.name, "key": key, "value": found[key]}


def check_mlflow(client: Any, run_id: str) -> dict[str, Any]:
    """An MLflow run with a metric and an artifact (which the server stores in S3), made with the
    MLflow ``client`` (authenticated as the user who may write them)."""
    import tempfile
    from pathlib import Path

    experiment = client.get_experiment_by_name(STACK_CHECKS_EXPERIMENT)
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment(STACK_CHECKS_EXPERIMENT)
    )
    run = client.create_run(experiment_id, run_name=run_id)
    client.log_metric(run.info.run_id, "round_trip", 1.0)
    with tempfile.TemporaryDirectory() as folder:
        note = Path(folder) / "check.json"
        note.write_text(json.dumps({"run_id": run_id}))
        client.log_artifact(run.info.run_id, str(note))
        downloaded = Path(client.download_artifacts(run.info.run_id, "check.json", folder + "/out"))
        if json.loads(downloaded.read_text()) != {"run_id": run_id}:
            raise RuntimeError("MLflow artifact read back different content")
    client.set_terminated(run.info.run_id)
    return {"experiment_id": experiment_id, "run_id": run.info.run_id, "artifact_uri": run.info.artifact_uri}
