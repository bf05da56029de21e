"""Extra links on the tasks that produce things: the MLflow model version or run, the S3 prefix,
the Kafka topic, each pointing at what *this* run produced.

How Airflow 3.3 serves operator extra links (read in the installed source):

- When a task instance finishes, the task runner calls ``link.get_link(operator, ti_key=ti)`` for
  every link of the operator, in the worker, and stores the string under ``link.xcom_key`` in
  XCom (``task_runner.finalize``).
- The serialized DAG keeps only ``{link name: xcom_key}``; the api-server rebuilds each link as
  an ``XComOperatorLink`` that reads that XCom. So the api-server needs no import of these
  classes and no plugin registration (a plugin's ``operator_extra_links`` would *replace* them
  and run ``get_link`` in the api-server, without the task's context).

The pattern is the providers' one (amazon's ``BaseAwsLink.persist`` + ``format_link``): the task
records *what* it produced (``record``: a small dict in XCom, e.g. the S3 prefix of its business
date), and ``get_link`` formats the URL at the end of the task, reading the base URLs then
(MLflow's from the ``mlflow_tracking`` connection, the api-server's from ``[api] base_url``), never
at parse time. A task that fails before recording has no link (the UI shows none).

TaskFlow's ``@task`` takes no ``operator_extra_links``: ``linked_task(links=[...])`` is ``@task``
with an operator class that carries the given links per task.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode

import attrs
from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk import BaseOperatorLink

from include.markets_ops.dashboard import URL_PREFIX as DASHBOARD_PREFIX


class LinkKind(StrEnum):
    MLFLOW_MODEL_VERSION = "mlflow_model_version"
    MLFLOW_RUN = "mlflow_run"
    S3_PREFIX = "s3_prefix"
    KAFKA_TOPIC = "kafka_topic"


# --- URL building (pure functions) ------------------------------------------------------------
def mlflow_model_version_url(mlflow_ui: str, model_name: str, version: str | int) -> str:
    return f"{mlflow_ui.rstrip('/')}/#/models/{quote(model_name, safe='')}/versions/{int(version)}"


def mlflow_run_url(mlflow_ui: str, experiment_id: str, run_id: str) -> str:
    experiment, run = quote(str(experiment_id), safe=""), quote(run_id, safe="")
    return f"{mlflow_ui.rstrip('/')}/#/experiments/{experiment}/runs/{run}"


def s3_prefix_url(airflow_base: str, bucket: str, prefix: str) -> str:
    """The dashboard's listing of ``s3://bucket/prefix`` (S3 has no UI of its own here)."""
    return (
        f"{airflow_base.rstrip('/')}{DASHBOARD_PREFIX}/s3?{urlencode({'bucket': bucket, 'prefix': prefix})}"
    )


def kafka_topic_url(
    airflow_base: str, topic: str, business_date: str | None = None, key: str | None = None
) -> str:
    """The dashboard's view of the topic's latest messages of one business date (or one key)."""
    query = {"topic": topic, "business_date": business_date, "key": key}
    encoded = urlencode({name: value for name, value in query.items() if value})
    return f"{airflow_base.rstrip('/')}{DASHBOARD_PREFIX}/kafka?{encoded}"


def build_url(
    kind: LinkKind, target: Mapping[str, Any], airflow_base: str, mlflow_ui: Callable[[], str]
) -> str:
    """The URL of a recorded target. ``mlflow_ui`` is only called for MLflow targets."""
    if kind is LinkKind.MLFLOW_MODEL_VERSION:
        return mlflow_model_version_url(mlflow_ui(), target["model_name"], target["version"])
    if kind is LinkKind.MLFLOW_RUN:
        return mlflow_run_url(mlflow_ui(), target["experiment_id"], target["run_id"])
    if kind is LinkKind.S3_PREFIX:
        return s3_prefix_url(airflow_base, target["bucket"], target["prefix"])
    return kafka_topic_url(airflow_base, target["topic"], target.get("business_date"), target.get("key"))


def airflow_base_url() -> str:
    """The api-server's public URL (``[api] base_url``); empty gives links relative to the UI's host."""
    from airflow.sdk.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "")


def mlflow_ui_url() -> str:
    from include.markets_ops.airflow.connections import mlflow_tracking_uri

    return mlflow_tracking_uri()


# --- the link class -----------------------------------------------------------------------------
@attrs.define
class ArtifactLink(BaseOperatorLink):
    """A link named ``name`` to what the task recorded for it (``record``), of the given kind.

    ``resolver``: for operators that cannot record (a model job runs in its own process or pod),
    the dotted path of a function ``(ti) -> target | None`` that finds the target when the task
    ends (e.g. the MLflow run the training job created)."""

    name: str  # a field here, an abstract property on the base class
    kind: LinkKind
    resolver: str | None = None

    @property
    def xcom_key(self) -> str:
        # One key per link, not per class (the default): a task carries several ArtifactLinks.
        return f"_link_{_slug(self.name)}"

    @property
    def target_key(self) -> str:
        return f"link_target_{_slug(self.name)}"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Runs in the worker when the task instance ends (``ti_key`` is the running instance)."""
        if self.resolver:
            from airflow.sdk.module_loading import import_string

            target = import_string(self.resolver)(ti_key)
        else:
            target = ti_key.xcom_pull(
                task_ids=ti_key.task_id, key=self.target_key, map_indexes=ti_key.map_index
            )
        if not target:
            return ""
        return build_url(self.kind, target, airflow_base_url(), mlflow_ui_url)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


MLFLOW_MODEL_VERSION = ArtifactLink("MLflow model version", LinkKind.MLFLOW_MODEL_VERSION)
MLFLOW_RUN = ArtifactLink("MLflow run", LinkKind.MLFLOW_RUN)
S3_OUTPUT = ArtifactLink("S3 output", LinkKind.S3_PREFIX)
KAFKA_TOPIC = ArtifactLink("Kafka topic", LinkKind.KAFKA_TOPIC)
TRAINING_RUN = ArtifactLink(
    "MLflow training run",
    LinkKind.MLFLOW_RUN,
    resolver="include.markets_ops.training.tasks.training_run_target",
)


def record(link: ArtifactLink, context: Mapping[str, Any] | None = None, **target: Any) -> None:
    """Record what the running task produced for ``link`` (its URL is built when the task ends)."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    context["ti"].xcom_push(key=link.target_key, value=target)


# --- TaskFlow with links ----------------------------------------------------------------------
class LinkedPythonOperator(_PythonDecoratedOperator):
    """``@task``'s operator with extra links given per task (the class attribute is shared)."""

    def __init__(self, *, links: Sequence[ArtifactLink] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.operator_extra_links = tuple(links)


def linked_task(*, links: Sequence[ArtifactLink], **task_kwargs: Any) -> Any:
    """``@task(**task_kwargs)`` whose task carries ``links``; the task calls ``record`` for each."""
    from airflow.sdk.bases.decorator import task_decorator_factory

    return task_decorator_factory(
        decorated_operator_class=LinkedPythonOperator, links=tuple(links), **task_kwargs
    )
