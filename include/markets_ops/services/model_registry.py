"""MLflow: the connection id, the tracking URI, the one client factory, and the model registry
as the DAGs see it (which version is champion, and reading its tags).

The model jobs have their own copy of the registry's names (model_pod/settlement_model/registry.py):
the pod package cannot import this project. tests/unit check that the two agree.
"""

from __future__ import annotations

from typing import Any

from settlement_model import timeouts

MLFLOW_CONN_ID = "mlflow_tracking"
MODEL_NAME = "settlement_fail_risk"
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
# What MLflow answers for a missing version or alias. Anything else (the server down, a 500)
# is raised: an outage must never read as "there is no champion".
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class ModelNotFoundError(LookupError):
    """The alias or version asked for does not exist (the message says which)."""


def tracking_uri_of(connection: Any) -> str:
    """The tracking server's URI from an Airflow ``http`` connection (host, with or without a
    scheme, and port)."""
    host = connection.host or ""
    if "://" not in host:
        host = f"http://{host}"
    return f"{host}:{connection.port}" if connection.port else host


def client(tracking_uri: str) -> Any:
    """An MLflow client of the tracking server, which is also the model registry; its requests
    fail within the bounds of settlement_model.timeouts (MLflow reads them from the environment)."""
    import mlflow

    timeouts.apply_mlflow_timeouts()
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


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
