"""var/stack.env and the Airflow connections: MLflow's users handed to the right clients."""

from __future__ import annotations

import json

from devstack import stack_env
from devstack.config import Stack, StackSecrets, secret_names


def stack() -> Stack:
    names = secret_names()
    return Stack(StackSecrets({name: f"value-of-{name}" for name in names}))


def test_the_mlflow_connection_logs_in_as_the_pipelines_writer() -> None:
    connection = json.loads(stack_env.connection_env(stack())["AIRFLOW_CONN_MLFLOW_TRACKING"])
    assert connection["conn_type"] == "http"
    assert connection["host"].startswith("http://127.0.0.1:")
    assert (connection["login"], connection["password"]) == ("pipelines", "value-of-mlflow_writer_password")


def test_sourcing_the_stack_env_makes_mlflows_client_the_writer_and_names_the_other_users() -> None:
    values = stack_env.stack_values(stack())
    assert values["MLFLOW_TRACKING_USERNAME"] == "pipelines"
    assert values["MLFLOW_TRACKING_PASSWORD"] == "value-of-mlflow_writer_password"  # pragma: allowlist secret
    assert values["MLFLOW_READER_USERNAME"] == "reader"
    assert values["MLFLOW_READER_PASSWORD"] == "value-of-mlflow_reader_password"  # pragma: allowlist secret
    assert values["MLFLOW_ADMIN_USERNAME"] == "admin"
