"""MLflow's basic-auth app on the running stack: no anonymous or wrong-password access, the reader
reads but cannot move the champion alias, the writer (the pipelines' user) can.

The registered model is the module's own, created by the writer as the training job creates
settlement_fail_risk; the project's own model and experiments are checked for their grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack import mlflow as devstack_mlflow
from devstack.config import Stack
from include.markets_ops.checks.stack import STACK_CHECKS_EXPERIMENT
from include.markets_ops.services import model_registry
from include.markets_ops.services.model_registry import Credentials

TIMEOUT = 30


@pytest.fixture(scope="module")
def users(stack: dict[str, str]) -> dict[str, Credentials]:
    return {
        "writer": Credentials(stack["MLFLOW_TRACKING_USERNAME"], stack["MLFLOW_TRACKING_PASSWORD"]),
        "reader": Credentials(stack["MLFLOW_READER_USERNAME"], stack["MLFLOW_READER_PASSWORD"]),
        "admin": Credentials(stack["MLFLOW_ADMIN_USERNAME"], stack["MLFLOW_ADMIN_PASSWORD"]),
    }


@pytest.fixture(scope="module")
def model(stack: dict[str, str], users: dict[str, Credentials]) -> Iterator[dict[str, str]]:
    """A registered model with one version, created by the writer; deleted afterwards."""
    writer = model_registry.client(stack["MLFLOW_TRACKING_URI"], users["writer"])
    name = f"settlement_fail_risk_auth_test_{uuid.uuid4().hex[:10]}"
    experiment = writer.get_experiment_by_name(STACK_CHECKS_EXPERIMENT)
    run = writer.create_run(experiment.experiment_id, run_name="mlflow-auth-test")
    writer.create_registered_model(name)
    version = writer.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    writer.set_terminated(run.info.run_id)
    yield {"name": name, "version": str(version.version)}
    writer.delete_registered_model(name)


def call(stack: dict[str, str], method: str, path: str, auth: Any = None, **kwargs: Any) -> requests.Response:
    return requests.request(method, stack["MLFLOW_TRACKING_URI"] + path, auth=auth, timeout=TIMEOUT, **kwargs)


def as_auth(user: Credentials) -> tuple[str, str]:
    return (user.username, user.password)


def set_champion(stack: dict[str, str], model: dict[str, str], auth: Any) -> requests.Response:
    body = {"name": model["name"], "alias": "champion", "version": model["version"]}
    return call(stack, "POST", "/api/2.0/mlflow/registered-models/alias", auth=auth, json=body)


def test_anonymous_requests_are_refused(stack: dict[str, str], model: dict[str, str]) -> None:
    assert (
        call(
            stack, "GET", "/api/2.0/mlflow/registered-models/get", params={"name": model["name"]}
        ).status_code
        == 401
    )
    assert set_champion(stack, model, auth=None).status_code == 401
    assert (
        call(stack, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1}).status_code == 401
    )
    # Only the health check answers without credentials (the stack's start-up waits on it).
    assert call(stack, "GET", "/health").status_code == 200


def test_a_wrong_password_is_refused(
    stack: dict[str, str], model: dict[str, str], users: dict[str, Credentials]
) -> None:
    for user in users.values():
        # Just after the user's own login, which the server now trusts for a minute: the cache
        # is keyed by the password too, so a wrong one never finds that login there.
        good = call(stack, "GET", "/api/2.0/mlflow/users/current", auth=as_auth(user))
        assert good.status_code == 200, user.username
        wrong = (user.username, user.password + "-wrong")
        answer = call(
            stack, "GET", "/api/2.0/mlflow/registered-models/get", auth=wrong, params={"name": model["name"]}
        )
        assert answer.status_code == 401, user.username
        assert set_champion(stack, model, auth=wrong).status_code == 401, user.username


def test_the_reader_reads_the_model_but_cannot_move_the_champion_alias(
    stack: dict[str, str], model: dict[str, str], users: dict[str, Credentials]
) -> None:
    reader = as_auth(users["reader"])
    answer = call(
        stack, "GET", "/api/2.0/mlflow/registered-models/get", auth=reader, params={"name": model["name"]}
    )
    assert answer.status_code == 200
    assert answer.json()["registered_model"]["name"] == model["name"]
    refused = set_champion(stack, model, auth=reader)
    assert refused.status_code == 403
    assert "Permission denied" in refused.text  # MLflow's auth app answers in plain text
    # Nor delete the model or its version, nor tag it.
    assert (
        call(
            stack,
            "DELETE",
            "/api/2.0/mlflow/registered-models/delete",
            auth=reader,
            json={"name": model["name"]},
        ).status_code
        == 403
    )
    tag = {"name": model["name"], "version": model["version"], "key": "promoted", "value": "yes"}
    assert (
        call(stack, "POST", "/api/2.0/mlflow/model-versions/set-tag", auth=reader, json=tag).status_code
        == 403
    )
    # Refused means unchanged: the alias does not exist.
    client = model_registry.client(stack["MLFLOW_TRACKING_URI"], users["reader"])
    assert model_registry.alias_version(client, "champion", model["name"]) is None


def test_the_writer_moves_the_champion_alias_and_the_reader_sees_it(
    stack: dict[str, str], model: dict[str, str], users: dict[str, Credentials]
) -> None:
    assert set_champion(stack, model, auth=as_auth(users["writer"])).status_code == 200
    # Through the product's client (the Airflow side's), with the reader's credentials.
    reader = model_registry.client(stack["MLFLOW_TRACKING_URI"], users["reader"])
    assert model_registry.alias_version(reader, "champion", model["name"]) == model["version"]
    writer = model_registry.client(stack["MLFLOW_TRACKING_URI"], users["writer"])
    writer.delete_registered_model_alias(model["name"], "champion")
    assert model_registry.alias_version(reader, "champion", model["name"]) is None


@pytest.mark.parametrize(
    ("resource_type", "resource"),
    [
        ("registered_model", "settlement_fail_risk"),
        ("experiment", "settlement_fail_risk"),
        ("experiment", "stack-checks"),
    ],
)
def test_the_writer_manages_the_projects_resources_and_the_reader_only_reads_them(
    stack: dict[str, str], users: dict[str, Credentials], resource_type: str, resource: str
) -> None:
    admin = as_auth(users["admin"])
    resource_id = resource
    if resource_type == "experiment":
        found = call(
            stack,
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name",
            auth=admin,
            params={"experiment_name": resource},
        )
        resource_id = found.json()["experiment"]["experiment_id"]
    permissions = {}
    for role in ("writer", "reader"):
        params = {
            "username": users[role].username,
            "resource_type": resource_type,
            "resource_id": resource_id,
        }
        answer = call(stack, "GET", "/api/3.0/mlflow/users/permissions/get", auth=admin, params=params)
        assert answer.status_code == 200, answer.text
        permissions[role] = answer.json()["permission"]
    assert permissions == {"writer": "MANAGE", "reader": "READ"}


def test_the_reader_and_the_writer_are_not_administrators(
    stack: dict[str, str], users: dict[str, Credentials]
) -> None:
    """Listing the users is open to every user in MLflow 3 (its reviewers' roster); creating,
    deleting or promoting users is not."""
    for role in ("reader", "writer"):
        auth = as_auth(users[role])
        promote = {"username": users[role].username, "is_admin": True}
        answer = call(stack, "PATCH", "/api/2.0/mlflow/users/update-admin", auth=auth, json=promote)
        assert answer.status_code == 403, role
        delete = {"username": users["admin"].username}
        answer = call(stack, "DELETE", "/api/2.0/mlflow/users/delete", auth=auth, json=delete)
        assert answer.status_code == 403, role
        new_user = {"username": f"intruder-{uuid.uuid4().hex[:6]}", "password": uuid.uuid4().hex}
        assert (
            call(
                stack, "POST", "/api/2.0/mlflow/users/create", auth=as_auth(users[role]), json=new_user
            ).status_code
            == 403
        )


def test_making_the_users_again_changes_nothing(stack: dict[str, str], users: dict[str, Credentials]) -> None:
    """`make up` runs it on every start: the same users, passwords and grants afterwards."""
    devstack_mlflow.ensure_users(Stack.load())
    for user in users.values():
        answer = call(stack, "GET", "/api/2.0/mlflow/users/current", auth=as_auth(user))
        assert answer.status_code == 200, user.username
