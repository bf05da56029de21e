"""The jobs' MLflow client is bounded (MLflow reads its timeouts from the environment)."""

from __future__ import annotations

import pytest
from settlement_model import registry


def test_the_client_bounds_mlflows_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow
    from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")  # MLflow's default: restored afterwards
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "2")
    previous = mlflow.get_tracking_uri()
    try:
        registry.client("http://127.0.0.1:9")
        assert (MLFLOW_HTTP_REQUEST_TIMEOUT.get(), MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()) == (20, 2)
    finally:
        mlflow.set_tracking_uri(previous)
