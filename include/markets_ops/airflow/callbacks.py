"""Failure and lateness events: what the night shift's tooling consumes from ``ops.airflow.events``.

The topic also carries the apache-kafka provider's own state events (``dag_run.running``,
``task_instance.failed``, ...: its event producer, configured in devstack/airflow.py). These two
add what the provider's lack: ``task_failed`` when a task fails for good (retries exhausted, or
bad input), with the business date, the exception's type and the log's URL; ``deadline_missed``
when a run misses its deadline (the provider has no lateness). Both use the provider's envelope
(``schema_version``, ``source``, ``event``, ``timestamp``, ``dag_id``, ``run_id``), so a consumer
reads one schema: docs/events.md, checked by docs/schemas/ops.airflow.events.json.

Durable: each event is first stored in the PostgreSQL outbox (outbox.py), then published at
once; if Kafka is down, the ``ops_events_relay`` DAG delivers it when Kafka is back. The
callback never raises: an outage must not hide the task's own error. If PostgreSQL and Kafka
are both unreachable, the event exists only in this log (logged at CRITICAL, in full).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from include.markets_ops.services.topics import AIRFLOW_EVENTS

log = logging.getLogger(__name__)
# 2: the provider's envelope (1 had ``event_type``, ``occurred_at`` and ``exception``). The
# provider's own events carry its version, 1.
EVENT_SCHEMA_VERSION = 2
EVENT_SOURCE = "markets-ops/callbacks"
MAX_EXCEPTION_CHARS = 2000


def _envelope(event: str, dag_id: str | None, run_id: str | None) -> dict[str, Any]:
    """The fields every event of the topic has, named as the provider's event producer names them."""
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "source": EVENT_SOURCE,
        "event": event,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "dag_id": dag_id,
        "run_id": run_id,
    }


def task_failure_event(context: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The (key, value) event for a failed task instance; the key is stable per attempt."""
    ti = context["ti"]
    exception = context.get("exception")
    map_index = getattr(ti, "map_index", -1)
    key = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{map_index}/{ti.try_number}"
    value = {
        **_envelope("task_failed", ti.dag_id, ti.run_id),
        "task_id": ti.task_id,
        "map_index": map_index,
        "try_number": ti.try_number,
        "max_tries": getattr(ti, "max_tries", None),
        "business_date": _business_date_or_none(context),
        "exception_type": type(exception).__name__ if exception is not None else None,
        "error": str(exception)[:MAX_EXCEPTION_CHARS] if exception is not None else None,
        "log_url": getattr(ti, "log_url", None),
    }
    return key, value


def _iso(value: Any) -> str:
    """A time as ISO 8601, like every other time of the event (the REST shape may give a datetime)."""
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _business_date_or_none(context: Mapping[str, Any]) -> str | None:
    from include.markets_ops.airflow.business_date import resolve_business_date

    try:
        return resolve_business_date(context).isoformat()
    except (ValueError, KeyError, AttributeError):
        return None


def publish_event(key: str, value: dict[str, Any]) -> None:
    """Store the event in the outbox, publish it to ops.airflow.events at once, and record the
    delivery; never raises. An event stored but not published is left to the relay."""
    from include.markets_ops.airflow import outbox

    log.error("Operations event %s: %s", key, value)
    event = outbox.OutboxEvent.of(AIRFLOW_EVENTS.name, key, value)
    stored = _store(event)
    if stored is False:
        log.warning("Operations event %s was already stored (its callback ran twice): not sent again", key)
        return
    delivered = _publish_now(event)
    if delivered and stored:
        _record_delivery(event)
    elif not delivered and stored:
        log.warning("Operations event %s is kept in the outbox: the ops_events_relay DAG delivers it", key)
    elif not delivered:
        log.critical(
            "OPERATIONS EVENT LOST: neither PostgreSQL nor Kafka took event %s; it exists only in this "
            "log. Publish it by hand to %s once Kafka is back: %s",
            key,
            event.topic,
            json.dumps(event.payload, sort_keys=True),
        )


def _store(event: Any) -> bool | None:
    """True: stored now; False: already stored (the same key); None: PostgreSQL refused or is down."""
    from include.markets_ops.airflow import outbox
    from include.markets_ops.airflow.connections import connect_postgres
    from include.markets_ops.services.postgres import OPS_EVENTS_CONN_ID

    try:
        with connect_postgres(
            OPS_EVENTS_CONN_ID, connect_timeout=outbox.CONNECT_TIMEOUT_SECONDS, autocommit=True
        ) as connection:
            return outbox.store(connection, event)
    except Exception:
        log.exception("could not store operations event %s in the outbox (%s)", event.key, OPS_EVENTS_CONN_ID)
        return None


def _publish_now(event: Any) -> bool:
    from include.markets_ops.airflow import outbox
    from include.markets_ops.airflow.connections import kafka_config
    from include.markets_ops.services.kafka import publish

    seconds = outbox.CALLBACK_DELIVERY_SECONDS
    try:
        config = outbox.bounded_delivery(kafka_config(), seconds)
        publish(config, event.topic, [(event.key, event.payload)], timeout_seconds=seconds)
        return True
    except Exception:
        log.exception("could not publish operations event %s to %s", event.key, event.topic)
        return False


def _record_delivery(event: Any) -> None:
    """Best effort: without the record the relay sends the same key again (consumers dedupe)."""
    from include.markets_ops.airflow import outbox
    from include.markets_ops.airflow.connections import connect_postgres
    from include.markets_ops.services.postgres import OPS_EVENTS_CONN_ID

    try:
        with connect_postgres(
            OPS_EVENTS_CONN_ID, connect_timeout=outbox.CONNECT_TIMEOUT_SECONDS, autocommit=True
        ) as connection:
            outbox.record_delivery(connection, event.topic, event.key, outbox.DELIVERED_BY_CALLBACK)
    except Exception:
        log.exception("could not record the delivery of event %s: the relay sends it again", event.key)


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Task ``on_failure_callback``: publish a task_failed event."""
    publish_event(*task_failure_event(context))


def deadline_missed_event(
    context: Mapping[str, Any], deadline_name: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The (key, value) lateness event for a DAG run that missed its deadline.

    ``context`` is what Airflow gives deadline callbacks: the run (``dag_run``, as the REST API
    shows it) and the ``deadline`` (id, deadline_time); ``deadline_name`` (the callback's kwargs)
    says which of the DAG's deadlines it was (airflow/defaults.py: queued-at or nightly cutoff).
    """
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    conf = run.get("conf") or {}
    logical_date = run.get("logical_date")
    business_date = conf.get("business_date") or (str(logical_date)[:10] if logical_date else None)
    key = f"{run.get('dag_id')}/{run.get('dag_run_id')}/deadline/{deadline.get('id')}"
    value = {
        **_envelope("deadline_missed", run.get("dag_id"), run.get("dag_run_id")),
        "deadline_name": deadline_name,
        "run_type": run.get("run_type"),
        "business_date": business_date,
        "queued_at": run.get("queued_at"),
        "deadline_time": _iso(deadline.get("deadline_time")),
        "state_at_deadline": run.get("state"),
    }
    return key, value


async def on_deadline_missed(
    context: Mapping[str, Any] | None = None, deadline_name: str | None = None, **_: Any
) -> None:
    """Deadline callback (an AsyncCallback: runs in the triggerer's event loop).

    Airflow 3.3 calls it as ``callback(**kwargs, context=...)`` (triggers/callback.py) with the
    run as the REST API shows it and the deadline. Publishing is blocking (connection lookup,
    Kafka flush), so it runs in a worker thread: the triggerer's loop serves other triggers."""
    import asyncio

    await asyncio.to_thread(publish_event, *deadline_missed_event(context or {}, deadline_name))
