"""The MLflow client's requests are bounded (MLflow reads its timeouts from the environment)."""

from __future__ import annotations

import pytest

from include.markets_ops.services import model_registry


def test_the_client_bounds_mlflows_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")  # MLflow's default: restored afterwards
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "2")
    client = model_registry.client("http://127.0.0.1:9")
    assert client.tracking_uri == "http://127.0.0.1:9"
    assert (MLFLOW_HTTP_REQUEST_TIMEOUT.get(), MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()) == (20, 2)
