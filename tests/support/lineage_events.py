"""Reading OpenLineage events back from ``openlineage.events``, for the tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import LINEAGE_EVENTS
from tests.support.kafka_messages import read_topic


def lineage_events(stack: dict[str, str]) -> list[dict[str, Any]]:
    """Every event on the topic, read to its end as the reader."""
    return [
        value
        for _, value in read_topic(kafka_client_of(stack, "reader"), LINEAGE_EVENTS.name, lambda _: True)
    ]


def facet(event: dict[str, Any], *path: str) -> Any:
    """A run facet's value at ``path`` (None where any step is missing)."""
    value: Any = event["run"].get("facets") or {}
    for step in path:
        value = (value or {}).get(step)
    return value


def dag_run_id(event: dict[str, Any]) -> str | None:
    """The Airflow run id of a task's event (facet ``airflow``) or a DAG run's (``airflowDagRun``)."""
    return facet(event, "airflow", "dagRun", "run_id") or facet(event, "airflowDagRun", "dagRun", "run_id")


def parent_run_id(event: dict[str, Any]) -> str | None:
    return facet(event, "parent", "run", "runId")


def datasets(event: dict[str, Any], side: str) -> set[str]:
    """``<namespace>/<name>`` of the event's ``inputs`` or ``outputs``."""
    return {f"{d['namespace']}/{d['name']}" for d in event.get(side) or []}


def completed(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["eventType"] == "COMPLETE"]
