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


class _Registry:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def model_version(self, *_args: object) -> dict[str, str]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (("RESOURCE_DOES_NOT_EXIST", 404, "Registered Model not found"), "has no alias 'champion'"),
        (("", 403, "Permission denied"), "refuses the job's user access to model m"),
    ],
)
def test_an_absent_or_forbidden_model_is_refused_not_retried(error: tuple[str, int, str], says: str) -> None:
    """With MLflow's authentication on, a model that does not exist answers 403, not 404."""
    from settlement_model.contract import RefusedError
    from settlement_model.registry_http import RegistryHttpError

    code, status, message = error
    failing = _Registry(RegistryHttpError(status, code, message))
    with pytest.raises(RefusedError, match=f"{says}.*settlement_risk_training"):
        registry.resolve_over_http(failing, "m", alias=registry.CHAMPION)  # type: ignore[arg-type]


def test_a_failing_registry_is_not_a_refusal() -> None:
    from settlement_model.registry_http import RegistryHttpError

    failing = _Registry(RegistryHttpError(500, "INTERNAL_ERROR", "boom"))
    with pytest.raises(RegistryHttpError):
        registry.resolve_over_http(failing, "m", alias=registry.CHAMPION)  # type: ignore[arg-type]
