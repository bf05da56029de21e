"""train_model's extra link on the real MLflow and S3: the snapshot of the training date leads to
the version the real train job registered, and to the MLflow run (and experiment) that logged it;
the URL built from it is one the MLflow server serves."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from include.markets_ops.airflow import links
from include.markets_ops.training import plan as training
from tests.support.model_stack import TRAINING_DATE, train


@pytest.mark.usefixtures("snapshot")
def test_the_training_link_finds_the_run_that_registered_the_version(
    stack: dict[str, str], reader_env: Any, mlflow_client: Any, model_name: str
) -> None:
    import boto3

    version = train(reader_env)
    s3 = boto3.client(
        "s3",
        endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
        region_name=stack["AWS_DEFAULT_REGION"],
    )

    target = training.training_run_of(s3, stack["S3_BUCKET"], mlflow_client, model_name, TRAINING_DATE)

    registered = mlflow_client.get_model_version(model_name, version)
    assert target["version"] == version
    assert target["run_id"] == registered.run_id
    assert target["experiment_id"] == mlflow_client.get_run(registered.run_id).info.experiment_id
    mlflow = stack["MLFLOW_TRACKING_URI"].rstrip("/")
    url = links.mlflow_run_url(mlflow, target["experiment_id"], target["run_id"])
    assert url == f"{mlflow}/#/experiments/{target['experiment_id']}/runs/{registered.run_id}"
    # The fragment is the UI's route; the run it names exists on the server the link opens.
    response = requests.get(
        f"{mlflow}/api/2.0/mlflow/runs/get",
        params={"run_id": target["run_id"]},
        auth=(stack["MLFLOW_READER_USERNAME"], stack["MLFLOW_READER_PASSWORD"]),
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["run"]["info"]["experiment_id"] == target["experiment_id"]
