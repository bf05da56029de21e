"""The registered model in MLflow (``settlement_fail_risk`` unless MLFLOW_MODEL_NAME says
otherwise, e.g. in tests): aliases, versions, input schema.

Two ways in: MLflow's client (training, evaluation, the promotion gate), and its REST API
(``registry_http``) for the scoring job, which then loads the compiled trees saved with the
model and starts without importing MLflow or scikit-learn."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from settlement_model import timeouts
from settlement_model.compiled import COMPILED_MODEL_FILE, CompiledModel
from settlement_model.contract import RefusedError
from settlement_model.features import signature_problems

if TYPE_CHECKING:
    from settlement_model.registry_http import Registry

EXPERIMENT_NAME = "settlement_fail_risk"
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
# What MLflow answers for a missing version or alias (anything else is a service problem).
# Tag on every trained version: the MLflow run of the snapshot it was trained on.
TRAINING_SET_TAG = "training_set_run_id"
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    version: str
    uri: str  # models:/name/version: pinned, whatever the alias points to later
    run_id: str | None


def client(tracking_uri: str) -> Any:
    """MLflow's client of the tracking server, also the URIs MLflow's own functions (log_model,
    load_model) read, all with the bounded timeouts of timeouts.py."""
    import mlflow

    timeouts.apply_mlflow_timeouts()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def resolve(
    mlflow_client: Any, name: str, alias: str | None = None, version: str | None = None
) -> ResolvedModel:
    """The version an alias points to (or the explicit version), refused if absent."""
    from mlflow.exceptions import MlflowException

    if bool(alias) == bool(version):
        raise ValueError("give exactly one of a model alias or a model version")
    try:
        if version:
            found = mlflow_client.get_model_version(name, str(version))
        else:
            found = mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code == "PERMISSION_DENIED":
            raise RefusedError(_denied(name, alias, error.message)) from error
        if error.error_code not in NOT_FOUND_CODES:
            raise  # the registry is unreachable or failing: a retry may help, a refusal would not
        raise RefusedError(_absent(name, alias, version, error.message)) from error
    return pinned(name, str(found.version), found.run_id)


def resolve_over_http(
    registry: Registry, name: str, alias: str | None = None, version: str | None = None
) -> ResolvedModel:
    """``resolve`` through the REST API (the scoring job's way): the same answers and refusals."""
    from settlement_model.registry_http import RegistryHttpError

    try:
        found = registry.model_version(name, alias, version)
    except RegistryHttpError as error:
        if error.status == 403 or error.error_code == "PERMISSION_DENIED":
            raise RefusedError(_denied(name, alias, error.message)) from error
        if error.error_code not in NOT_FOUND_CODES:
            raise
        raise RefusedError(_absent(name, alias, version, error.message)) from error
    return pinned(name, str(found["version"]), found.get("run_id"))


def _absent(name: str, alias: str | None, version: str | None, message: str) -> str:
    what = f"version {version}" if version else f"alias '{alias}'"
    return f"model {name} has no {what}{_hint(alias)}: {message}"


def _denied(name: str, alias: str | None, message: str) -> str:
    """With authentication on, MLflow answers 403 for a model the user may not read, and for one
    that does not exist (no permission can be looked up): either way a retry would not help."""
    return (
        f"MLflow refuses the job's user access to model {name} ({message}): it does not exist "
        f"or the user has no permission on it{_hint(alias)}"
    )


def _hint(alias: str | None) -> str:
    return " (train and promote one with the settlement_risk_training DAG)" if alias == CHAMPION else ""


def pinned(name: str, version: str, run_id: str | None) -> ResolvedModel:
    return ResolvedModel(name, version, f"models:/{name}/{version}", run_id)


def input_schema(model_uri: str) -> dict[str, str]:
    """{column: MLflow type} of the model's signature; refused when it has none."""
    import mlflow

    signature = mlflow.models.get_model_info(model_uri).signature
    if signature is None or signature.inputs is None:
        raise RefusedError(f"{model_uri} was logged without an input signature: it cannot be checked")
    return {spec.name: spec.type.name for spec in signature.inputs.inputs}


def model_description(registry: Registry, model: ResolvedModel) -> dict[str, Any]:
    """The version's MLmodel file (flavors, signature, extra files), read over HTTP."""
    import yaml

    described: dict[str, Any] = yaml.safe_load(registry.model_file(model.name, model.version, "MLmodel"))
    return described


def signature_inputs(model: ResolvedModel, described: dict[str, Any]) -> dict[str, str]:
    """{column: MLflow type} of an MLmodel's signature (``input_schema`` without MLflow)."""
    inputs = (described.get("signature") or {}).get("inputs")
    if not inputs:
        raise RefusedError(f"{model.uri} was logged without an input signature: it cannot be checked")
    return {spec["name"]: spec["type"] for spec in json.loads(inputs)}


def load_compiled(
    registry: Registry, model: ResolvedModel, described: dict[str, Any]
) -> CompiledModel | None:
    """The compiled trees the training job saved with the version, or None for a version
    saved without them (trained before they were, or a model that is not compiled)."""
    path = f"extra_files/{COMPILED_MODEL_FILE}"
    saved = (described.get("flavors") or {}).get("sklearn", {}).get("extra_files") or []
    if not any(item.get("path") == path for item in saved):
        return None
    return CompiledModel.from_description(json.loads(registry.model_file(model.name, model.version, path)))


def check_input_schema(model: ResolvedModel, schema: dict[str, str] | None = None) -> None:
    """Refused when the model's inputs (its signature, read from MLflow unless given) differ
    from the features the jobs compute."""
    problems = signature_problems(input_schema(model.uri) if schema is None else schema)
    if problems:
        raise RefusedError(
            f"the input schema of {model.name} version {model.version} does not match the features "
            f"this job computes: {'; '.join(problems)}"
        )


def load(model: ResolvedModel) -> Any:
    """The scikit-learn pipeline itself (predict_proba), loaded by its pinned version.

    MLflow refuses to deserialise any model unless MLFLOW_ALLOW_PICKLE_DESERIALIZATION is
    true, because a model file can run code. The models loaded here come only from this
    project's registry, written only by its own training job, and are saved with skops and
    an explicit list of trusted types (train_job.SKOPS_TRUSTED_TYPES): so the jobs opt in.
    """
    import os

    import mlflow.sklearn

    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    return mlflow.sklearn.load_model(model.uri)


def versions_of_training_set(mlflow_client: Any, name: str, snapshot_run_id: str) -> list[Any]:
    """The READY versions of ``name`` trained on a snapshot (tag training_set_run_id), newest first."""
    if not snapshot_run_id.isalnum():
        raise ValueError(f"unexpected MLflow run id {snapshot_run_id!r}")
    found = mlflow_client.search_model_versions(
        f"name = '{name}' and tags.{TRAINING_SET_TAG} = '{snapshot_run_id}'"
    )
    return sorted((v for v in found if v.status == "READY"), key=lambda v: int(v.version), reverse=True)
