"""MLflow credentials from the connection, the client that carries them on every call, and its
requests' bounds (MLflow reads its timeouts from the environment)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from include.markets_ops.services import model_registry
from include.markets_ops.services.model_registry import AuthenticatedClient, Credentials

WRITER = Credentials("pipelines", "writer-password-123")  # pragma: allowlist secret


def connection(login: str | None, password: str | None) -> Any:
    return SimpleNamespace(
        conn_id="mlflow_tracking", host="http://mlflow", port=5000, login=login, password=password
    )


def test_the_connections_login_and_password_are_the_credentials() -> None:
    credentials = model_registry.credentials_of(connection("pipelines", "writer-password-123"))
    assert credentials == WRITER
    assert credentials.environment() == {
        "MLFLOW_TRACKING_USERNAME": "pipelines",
        "MLFLOW_TRACKING_PASSWORD": "writer-password-123",  # pragma: allowlist secret
    }


def test_a_connection_without_login_or_password_means_no_authentication() -> None:
    assert model_registry.credentials_of(connection(None, None)) is None
    assert model_registry.credentials_of(connection("", "")) is None


@pytest.mark.parametrize(
    ("login", "password", "missing"), [("pipelines", None, "password"), (None, "pw", "login")]
)
def test_half_a_login_is_refused_naming_the_connection_and_what_is_missing(
    login: str | None, password: str | None, missing: str
) -> None:
    with pytest.raises(ValueError, match=rf"'mlflow_tracking' has no {missing}"):
        model_registry.credentials_of(connection(login, password))


def test_the_password_is_not_in_the_repr() -> None:
    assert "writer-password-123" not in repr(WRITER)
    assert "writer-password-123" not in repr(
        AuthenticatedClient(SimpleNamespace(tracking_uri="http://m"), WRITER)
    )


class RecordingClient:
    """Records the MLflow credentials in the environment while each of its methods runs."""

    tracking_uri = "http://mlflow:5000"

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str | None]] = []

    def get_model_version_by_alias(self, name: str, alias: str) -> str:
        self.seen.append(
            (os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD"))
        )
        return f"{name}@{alias}"

    def fail(self) -> None:
        self.seen.append((os.environ.get("MLFLOW_TRACKING_USERNAME"), None))
        raise RuntimeError("the server said no")


def test_every_call_runs_with_the_credentials_and_the_environment_is_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "someone-else")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    recording = RecordingClient()
    client = AuthenticatedClient(recording, WRITER)
    assert client.get_model_version_by_alias("m", "champion") == "m@champion"
    assert recording.seen == [("pipelines", "writer-password-123")]
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "someone-else"
    assert "MLFLOW_TRACKING_PASSWORD" not in os.environ
    # Also when the call fails.
    with pytest.raises(RuntimeError, match="said no"):
        client.fail()
    assert recording.seen[-1] == ("pipelines", None)
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "someone-else"
    # Attributes that are not methods pass through.
    assert client.tracking_uri == "http://mlflow:5000"


def test_the_client_is_authenticated_only_when_given_credentials() -> None:
    plain = model_registry.client("http://127.0.0.1:1")
    assert type(plain).__name__ == "MlflowClient"
    authenticated = model_registry.client("http://127.0.0.1:1", WRITER)
    assert isinstance(authenticated, AuthenticatedClient)
    assert authenticated.tracking_uri == "http://127.0.0.1:1"


def test_the_client_bounds_mlflows_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")  # MLflow's default: restored afterwards
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "2")
    client = model_registry.client("http://127.0.0.1:9")
    assert client.tracking_uri == "http://127.0.0.1:9"
    assert (MLFLOW_HTTP_REQUEST_TIMEOUT.get(), MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()) == (20, 2)
