"""The MLflow server's start-up: its database password never on the command line."""

from __future__ import annotations

from devstack import mlflow
from devstack.config import Stack, StackSecrets


def test_the_backend_store_password_goes_through_the_environment_only() -> None:
    secrets = {"pg_mlflow": "the-mlflow-password", "s3_access_key": "a", "s3_secret_key": "s"}
    stack = Stack(StackSecrets(secrets))
    argv = mlflow.server_argv(stack)
    assert not [argument for argument in argv if "the-mlflow-password" in argument]
    assert "--backend-store-uri" not in argv
    store = mlflow.server_env(stack)["MLFLOW_BACKEND_STORE_URI"]
    with_password = "postgresql+psycopg://mlflow:the-mlflow-password@127.0.0.1:"  # pragma: allowlist secret
    assert store.startswith(with_password)
    assert store.endswith("/mlflow")
