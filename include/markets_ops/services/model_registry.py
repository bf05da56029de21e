"""MLflow: the connection id, the tracking URI, the one client factory, and the model registry
as the DAGs see it (which version is champion, and reading its tags).

The model jobs have their own copy of the registry's names (model_pod/settlement_model/registry.py):
the pod package cannot import this project. tests/unit check that the two agree.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from settlement_model import timeouts

from include.markets_ops.errors import BadInputError

MLFLOW_CONN_ID = "mlflow_tracking"
MODEL_NAME = "settlement_fail_risk"
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
# What MLflow answers for a missing version or alias. Anything else (the server down, a 500)
# is raised: an outage must never read as "there is no champion".
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class ModelNotFoundError(BadInputError, LookupError):
    """The alias or version asked for does not exist (the message says which)."""


# The variables MLflow's client reads its basic-auth credentials from, at every request.
USERNAME_VARIABLE = "MLFLOW_TRACKING_USERNAME"
# A variable's name, not a password:
PASSWORD_VARIABLE = "MLFLOW_TRACKING_PASSWORD"  # noqa: S105  # nosec B105  # pragma: allowlist secret


@dataclass(frozen=True)
class Credentials:
    """A user of the tracking server's basic-auth app (the connection's login and password)."""

    username: str
    password: str = field(repr=False)

    def environment(self) -> dict[str, str]:
        """The variables MLflow's client (and the model jobs) read these credentials from."""
        return {USERNAME_VARIABLE: self.username, PASSWORD_VARIABLE: self.password}


def credentials_of(connection: Any) -> Credentials | None:
    """The connection's login and password, or None when it has neither (a server without
    authentication). One without the other is a misconfigured connection, refused by name."""
    login, password = connection.login or "", connection.password or ""
    if not login and not password:
        return None
    if not (login and password):
        missing = "password" if login else "login"
        raise ValueError(
            f"the MLflow connection {connection.conn_id!r} has no {missing}: set both or neither"
        )
    return Credentials(login, password)


def tracking_uri_of(connection: Any) -> str:
    """The tracking server's URI from an Airflow ``http`` connection (host, with or without a
    scheme, and port)."""
    host = connection.host or ""
    if "://" not in host:
        host = f"http://{host}"
    return f"{host}:{connection.port}" if connection.port else host


def client(tracking_uri: str, credentials: Credentials | None = None) -> Any:
    """An MLflow client of the tracking server, which is also the model registry; its requests
    fail within the bounds of settlement_model.timeouts (MLflow reads them from the environment);
    with ``credentials``, every call it makes is authenticated as that user."""
    import mlflow

    timeouts.apply_mlflow_timeouts()
    mlflow_client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    return mlflow_client if credentials is None else AuthenticatedClient(mlflow_client, credentials)


@contextlib.contextmanager
def credentials_in_environment(credentials: Credentials) -> Iterator[None]:
    """MLflow's client takes basic-auth credentials only from the environment, read at each
    request (its stores are cached per URI, so they cannot hold a user): set them for the
    duration of a call, then restore what was there."""
    variables = credentials.environment()
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class AuthenticatedClient:
    """An ``MlflowClient`` whose every method call runs with ``credentials`` in the environment:
    the one place the Airflow side hands MLflow its user. Attributes that are not methods
    are passed through unchanged."""

    def __init__(self, mlflow_client: Any, credentials: Credentials) -> None:
        self._client = mlflow_client
        self._credentials = credentials

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def authenticated(*args: Any, **kwargs: Any) -> Any:
            with credentials_in_environment(self._credentials):
                return attribute(*args, **kwargs)

        return authenticated

    def __repr__(self) -> str:
        return f"AuthenticatedClient({self._client.tracking_uri!r}, user={self._credentials.username!r})"


def alias_version(mlflow_client: Any, alias: str, model_name: str = MODEL_NAME) -> str | None:
    """The version an alias points to, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow_client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as error:
        if error.error_code in NOT_FOUND_CODES:
            return None
        raise


def existing_version(mlflow_client: Any, version: str, model_name: str = MODEL_NAME) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_model_version(model_name, str(version))
    except MlflowException as error:
        if error.error_code not in NOT_FOUND_CODES:
            raise
        raise ModelNotFoundError(f"model {model_name} has no version {version}") from error


def scoring_version(mlflow_client: Any, requested: str | None, model_name: str = MODEL_NAME) -> str:
    """The version a scoring run pins for all its shards: the one asked for, or the champion."""
    if requested:
        return str(existing_version(mlflow_client, requested, model_name).version)
    version = alias_version(mlflow_client, CHAMPION, model_name)
    if version is None:
        raise ModelNotFoundError(
            f"model {model_name} has no '{CHAMPION}' alias: train and promote a model first "
            "(trigger settlement_risk_training), or pass an explicit model_version"
        )
    return version


def shadow_version(mlflow_client: Any, scored_version: str, model_name: str = MODEL_NAME) -> str | None:
    """The challenger to score in shadow beside ``scored_version``: the ``challenger`` alias's
    version, or None when there is none or it is the version scored anyway."""
    version = alias_version(mlflow_client, CHALLENGER, model_name)
    return None if version in (None, str(scored_version)) else version


def why_not_scorable(
    tracking_uri: str, credentials: Credentials | None, version: str, model_name: str = MODEL_NAME
) -> str | None:
    """Why the scoring job would refuse ``version`` (it is gone, or its inputs differ from the
    features the job computes), or None: the job's own check (settlement_model.registry), over
    MLflow's REST API."""
    from settlement_model import registry, registry_http
    from settlement_model.contract import RefusedError

    context = credentials_in_environment(credentials) if credentials else contextlib.nullcontext()
    with context:
        http = registry_http.Registry(tracking_uri)
        try:
            model = registry.resolve_over_http(http, model_name, None, version)
            registry.check_input_schema(
                model, registry.signature_inputs(model, registry.model_description(http, model))
            )
        except RefusedError as refused:
            return str(refused)
    return None
