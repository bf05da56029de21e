"""The MLflow server's start-up: its database password never on the command line."""

from __future__ import annotations

from devstack import mlflow
from devstack.config import Stack, StackSecrets


def test_the_backend_store_password_goes_through_the_environment_only() -> None:
    stack = Stack(StackSecrets({"pg_mlflow": "the-mlflow-password", "s3_access_key": "a", "s3_secret_key": "s"}))
    argv = mlflow.server_argv(stack)
    assert not [argument for argument in argv if "the-mlflow-password" in argument]
    assert "--backend-store-uri" not in argv
    store = mlflow.server_env(stack)["MLFLOW_BACKEND_STORE_URI"]
    assert store.startswith("postgresql+psycopg://mlflow:the-mlflow-password@127.0.0.1:")
    assert store.endswith("/mlflow")
