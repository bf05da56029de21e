"""The MLflow server's start-up: no secret on the command line, the basic-auth app configured,
and its users and grants made idempotently through the auth REST API."""

from __future__ import annotations

import configparser
import json
from typing import Any

import pytest

from devstack import mlflow
from devstack.config import Stack, StackSecrets

SECRETS = {
    "pg_mlflow": "the-mlflow-password",  # pragma: allowlist secret
    "s3_access_key": "a",
    "s3_secret_key": "s",
    "mlflow_admin_password": "the-admin-password",  # pragma: allowlist secret
    "mlflow_writer_password": "the-writer-password",  # pragma: allowlist secret
    "mlflow_reader_password": "the-reader-password",  # pragma: allowlist secret
    "mlflow_flask_secret_key": "the-csrf-key",  # pragma: allowlist secret
}
STACK = Stack(StackSecrets(SECRETS))


def test_the_backend_store_password_goes_through_the_environment_only() -> None:
    argv = mlflow.server_argv(STACK)
    assert not [argument for argument in argv if "the-mlflow-password" in argument]
    assert "--backend-store-uri" not in argv
    store = mlflow.server_env(STACK)["MLFLOW_BACKEND_STORE_URI"]
    with_password = "postgresql+psycopg://mlflow:the-mlflow-password@127.0.0.1:"  # pragma: allowlist secret
    assert store.startswith(with_password)
    assert store.endswith("/mlflow")


def test_the_server_runs_the_basic_auth_app_with_no_secret_on_its_command_line() -> None:
    argv = mlflow.server_argv(STACK)
    assert argv[argv.index("--app-name") + 1] == "basic-auth"
    for secret in SECRETS.values():
        assert not [argument for argument in argv if secret in argument and len(secret) > 1]
    env = mlflow.server_env(STACK)
    assert env["MLFLOW_AUTH_CONFIG_PATH"] == str(mlflow.AUTH_CONFIG_FILE)
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"] == "the-admin-password"  # pragma: allowlist secret
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "the-csrf-key"  # pragma: allowlist secret


def test_the_server_is_not_a_client_user_of_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "pipelines")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "x")
    env = mlflow.server_env(STACK)
    assert "MLFLOW_TRACKING_USERNAME" not in env
    assert "MLFLOW_TRACKING_PASSWORD" not in env


def test_the_auth_config_reads_all_by_default_and_keeps_users_in_their_own_database() -> None:
    config = configparser.ConfigParser()
    config.read_string(mlflow.auth_config(STACK))
    section = config["mlflow"]
    assert section["default_permission"] == "READ"
    with_password = "postgresql+psycopg://mlflow:the-mlflow-password@127.0.0.1:"  # pragma: allowlist secret
    assert section["database_uri"].startswith(with_password)
    assert section["database_uri"].endswith("/mlflow_auth")
    assert section["admin_username"] == "admin"
    assert "admin_password" not in section  # through the environment, read once
    # Logins are cached (each request otherwise hashes the password again), for a short while.
    assert 0 < int(section["auth_cache_ttl_seconds"]) <= 300


class FakeAuthServer:
    """The auth app's answers to the calls ensure_users makes, and who made each change."""

    def __init__(self) -> None:
        self.passwords = {"admin": "the-admin-password"}  # pragma: allowlist secret
        self.experiments: dict[str, str] = {}
        self.models: set[str] = set()
        self.grants: dict[tuple[str, str, str], str] = {}
        self.calls: list[tuple[str, str, str]] = []

    def request(self, method: str, url: str, *, auth: tuple[str, str], timeout: float, **kwargs: Any) -> Any:
        assert timeout > 0
        if self.passwords.get(auth[0]) != auth[1]:
            return Answer(401, {"error_code": "UNAUTHENTICATED"})
        path = url[url.index("/api/") :]
        self.calls.append((auth[0], method, path))
        endpoint = path.rsplit("/mlflow/", 1)[1].replace("/", "_").replace("-", "_")
        handler = getattr(self, endpoint, None)
        if handler is None:
            raise AssertionError(f"unexpected call {method} {path}")
        arguments: dict[str, Any] = kwargs.get("json") or kwargs.get("params") or {}
        answer: Answer = handler(auth[0], arguments)
        return answer

    def users_get(self, _: str, arguments: dict[str, Any]) -> Answer:
        return Answer(200 if arguments["username"] in self.passwords else 404, {})

    def users_create(self, _: str, arguments: dict[str, Any]) -> Answer:
        self.passwords[arguments["username"]] = arguments["password"]
        return Answer(200, {})

    users_update_password = users_create

    def experiments_get_by_name(self, _: str, arguments: dict[str, Any]) -> Answer:
        found = self.experiments.get(arguments["experiment_name"])
        return Answer(404, {}) if found is None else Answer(200, {"experiment": {"experiment_id": found}})

    def experiments_create(self, user: str, arguments: dict[str, Any]) -> Answer:
        experiment_id = self.experiments[arguments["name"]] = str(len(self.experiments) + 1)
        self.grants[(user, "experiment", experiment_id)] = "MANAGE"  # the creator's
        return Answer(200, {"experiment_id": experiment_id})

    def registered_models_get(self, _: str, arguments: dict[str, Any]) -> Answer:
        return Answer(200 if arguments["name"] in self.models else 404, {})

    def registered_models_create(self, user: str, arguments: dict[str, Any]) -> Answer:
        self.models.add(arguments["name"])
        self.grants[(user, "registered_model", arguments["name"])] = "MANAGE"  # the creator's
        return Answer(200, {})

    def users_permissions_grant(self, _: str, arguments: dict[str, Any]) -> Answer:
        if grant_key(arguments) in self.grants:
            return Answer(400, {"error_code": "RESOURCE_ALREADY_EXISTS"})
        self.grants[grant_key(arguments)] = arguments["permission"]
        return Answer(200, {})

    def users_permissions_get(self, _: str, arguments: dict[str, Any]) -> Answer:
        return Answer(200, {"allowed": True, "permission": self.grants.get(grant_key(arguments), "READ")})

    def users_permissions_revoke(self, _: str, arguments: dict[str, Any]) -> Answer:
        self.grants.pop(grant_key(arguments))
        return Answer(200, {})


def grant_key(arguments: dict[str, Any]) -> tuple[str, str, str]:
    return (arguments["username"], arguments["resource_type"], arguments["resource_id"])


class Answer:
    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self.ok = status_code < 400
        self.content = json.dumps(body).encode()
        self.text = self.content.decode()
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeAuthServer:
    import requests

    fake = FakeAuthServer()
    monkeypatch.setattr(requests, "request", fake.request)
    return fake


def test_users_are_created_then_repassworded_and_the_writer_manages_the_projects_resources(
    server: FakeAuthServer,
) -> None:
    stack = Stack(StackSecrets(SECRETS))
    mlflow.ensure_users(stack)
    assert server.passwords["pipelines"] == "the-writer-password"  # pragma: allowlist secret
    assert server.passwords["reader"] == "the-reader-password"  # pragma: allowlist secret
    # Missing experiments and the model are created as the writer (MLflow makes the creator
    # their manager), so no other user can take their names first.
    assert ("pipelines", "POST", "/api/2.0/mlflow/experiments/create") in server.calls
    assert ("pipelines", "POST", "/api/2.0/mlflow/registered-models/create") in server.calls
    assert server.grants == {
        ("pipelines", "experiment", "1"): "MANAGE",
        ("pipelines", "experiment", "2"): "MANAGE",
        ("pipelines", "registered_model", "settlement_fail_risk"): "MANAGE",
    }
    # Run again (every `make up`): the same state, passwords reset to this checkout's.
    server.passwords["reader"] = "an-old-password"  # pragma: allowlist secret
    mlflow.ensure_users(stack)
    assert server.passwords["reader"] == "the-reader-password"  # pragma: allowlist secret
    assert len(server.grants) == 3
    assert not [call for call in server.calls if call[2].endswith("/revoke")]


def test_a_lesser_existing_grant_is_replaced_by_manage(server: FakeAuthServer) -> None:
    # Made before authentication was switched on: nobody's.
    server.experiments = {"settlement_fail_risk": "7", "stack-checks": "8"}
    server.models = {"settlement_fail_risk"}
    server.grants[("pipelines", "experiment", "7")] = "READ"
    mlflow.ensure_users(Stack(StackSecrets(SECRETS)))
    assert server.grants == {
        ("pipelines", "experiment", "7"): "MANAGE",
        ("pipelines", "experiment", "8"): "MANAGE",
        ("pipelines", "registered_model", "settlement_fail_risk"): "MANAGE",
    }
    assert ("admin", "POST", "/api/3.0/mlflow/users/permissions/revoke") in server.calls


def test_a_refusal_names_the_call_and_the_user(server: FakeAuthServer) -> None:
    secrets = {**SECRETS, "mlflow_admin_password": "not-the-admin-password"}  # pragma: allowlist secret
    with pytest.raises(
        mlflow.StackError, match=r"MLflow refused GET /api/2.0/mlflow/users/get as 'admin': 401"
    ):
        mlflow.ensure_users(Stack(StackSecrets(secrets)))
