from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any
from unittest import mock

from include.markets_ops.airflow import callbacks


def _context(**extra):
    ti = SimpleNamespace(
        dag_id="trade_reconciliation",
        task_id="classify_breaks",
        run_id="scheduled__2026-10-30T04:00:00+00:00",
        map_index=-1,
        try_number=3,
        max_tries=2,
        log_url="http://127.0.0.1:28800/dags/trade_reconciliation/runs/x/tasks/classify_breaks?try_number=3",
    )
    return {
        "ti": ti,
        "params": {},
        "data_interval_start": dt.datetime(2026, 10, 30, 4, tzinfo=dt.UTC),
        **extra,
    }


def test_failure_event_names_the_run_task_attempt_and_business_date() -> None:
    key, event = callbacks.task_failure_event(_context(exception=ValueError("negative quantity in 3 rows")))
    assert key == "trade_reconciliation/scheduled__2026-10-30T04:00:00+00:00/classify_breaks/-1/3"
    assert event["event"] == "task_failed"
    assert event["business_date"] == "2026-10-30"
    assert event["try_number"] == 3
    assert event["exception_type"] == "ValueError"
    assert event["error"] == "negative quantity in 3 rows"
    assert event["log_url"].endswith("try_number=3")


def test_failure_event_truncates_huge_exceptions() -> None:
    _, event = callbacks.task_failure_event(_context(exception=RuntimeError("x" * 10_000)))
    assert len(event["error"]) == callbacks.MAX_EXCEPTION_CHARS


def test_publishing_errors_never_escape_the_callback() -> None:
    with mock.patch(
        "include.markets_ops.airflow.connections.kafka_config", side_effect=RuntimeError("kafka down")
    ):
        callbacks.on_task_failure(_context(exception=ValueError("boom")))  # must not raise


def test_deadline_event_names_the_run_its_business_date_and_the_deadline() -> None:
    context = {
        "dag_run": {
            "dag_id": "ops_sql_alerts",
            "dag_run_id": "asset_triggered__2026-10-30T23:40:00+00:00",
            "run_type": "asset_triggered",
            "logical_date": None,
            "conf": {"business_date": "2026-10-30"},
            "queued_at": "2026-10-30T23:40:00+00:00",
            "state": "running",
        },
        "deadline": {"id": "0193", "deadline_time": "2026-10-31T10:00:00+00:00"},
    }
    key, event = callbacks.deadline_missed_event(context)
    assert key == "ops_sql_alerts/asset_triggered__2026-10-30T23:40:00+00:00/deadline/0193"
    assert event["event"] == "deadline_missed"
    assert event["business_date"] == "2026-10-30"
    assert event["state_at_deadline"] == "running"
    assert event["deadline_time"] == "2026-10-31T10:00:00+00:00"


def test_the_deadline_callback_runs_as_airflow_3_3_calls_it() -> None:
    """triggers/callback.py: ``await callback(**kwargs, context=context)`` when it accepts a context."""
    import asyncio

    from airflow._shared.module_loading import accepts_context

    published: list[tuple[str, dict]] = []
    context = {
        "dag_run": {
            "dag_id": "trade_reconciliation",
            "dag_run_id": "manual__x",
            "conf": {},
            "state": "running",
        },
        "deadline": {"id": "42", "deadline_time": "2031-07-08T10:00:00+00:00"},
    }
    assert accepts_context(callbacks.on_deadline_missed)
    with mock.patch.object(callbacks, "publish_event", lambda key, value: published.append((key, value))):
        asyncio.run(callbacks.on_deadline_missed(deadline_name="nightly_cutoff", context=context))
    assert [key for key, _ in published] == ["trade_reconciliation/manual__x/deadline/42"]
    assert published[0][1]["event"] == "deadline_missed"
    assert published[0][1]["deadline_name"] == "nightly_cutoff"


# --------------------------------------------------------------------------- durable delivery


class _Outbox:
    """The callback's three steps faked: the outbox (stored keys, deliveries) and Kafka."""

    def __init__(self, postgres_up: bool = True, kafka_up: bool = True) -> None:
        self.postgres_up, self.kafka_up = postgres_up, kafka_up
        self.stored: dict[str, dict] = {}
        self.delivered: list[str] = []
        self.published: list[str] = []

    def store(self, event) -> bool | None:  # type: ignore[no-untyped-def]
        if not self.postgres_up:
            return None
        if event.key in self.stored:
            return False
        self.stored[event.key] = event.payload
        return True

    def publish_now(self, event) -> bool:  # type: ignore[no-untyped-def]
        if self.kafka_up:
            self.published.append(event.key)
        return self.kafka_up

    def record_delivery(self, event) -> None:  # type: ignore[no-untyped-def]
        self.delivered.append(event.key)

    def patched(self):  # type: ignore[no-untyped-def]
        import contextlib

        stack = contextlib.ExitStack()
        stack.enter_context(mock.patch.object(callbacks, "_store", self.store))
        stack.enter_context(mock.patch.object(callbacks, "_publish_now", self.publish_now))
        stack.enter_context(mock.patch.object(callbacks, "_record_delivery", self.record_delivery))
        return stack


KEY = "trade_reconciliation/scheduled__2026-10-30T04:00:00+00:00/classify_breaks/-1/3"


def test_an_event_is_stored_then_published_then_marked_delivered() -> None:
    fake = _Outbox()
    with fake.patched():
        callbacks.on_task_failure(_context(exception=ValueError("boom")))
    assert list(fake.stored) == [KEY]
    assert fake.published == [KEY]
    assert fake.delivered == [KEY]


def test_with_kafka_down_the_event_stays_stored_and_pending_for_the_relay(caplog) -> None:  # type: ignore[no-untyped-def]
    fake = _Outbox(kafka_up=False)
    with fake.patched(), caplog.at_level("WARNING"):
        callbacks.on_task_failure(_context(exception=ValueError("boom")))
    assert list(fake.stored) == [KEY]
    assert fake.delivered == []
    assert "kept in the outbox" in caplog.text
    assert "LOST" not in caplog.text


def test_a_callback_fired_twice_stores_and_publishes_once() -> None:
    fake = _Outbox()
    with fake.patched():
        callbacks.on_task_failure(_context(exception=ValueError("boom")))
        callbacks.on_task_failure(_context(exception=ValueError("boom")))
    assert list(fake.stored) == [KEY]
    assert fake.published == [KEY]


def test_with_postgres_down_the_event_still_goes_to_kafka_and_nothing_is_marked() -> None:
    fake = _Outbox(postgres_up=False)
    with fake.patched():
        callbacks.on_task_failure(_context(exception=ValueError("boom")))
    assert fake.published == [KEY]
    assert fake.delivered == []


def test_with_postgres_and_kafka_down_the_loss_is_logged_loudly_with_the_whole_event(caplog) -> None:  # type: ignore[no-untyped-def]
    fake = _Outbox(postgres_up=False, kafka_up=False)
    with fake.patched(), caplog.at_level("CRITICAL"):
        callbacks.on_task_failure(_context(exception=ValueError("negative quantity")))
    [record] = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert "OPERATIONS EVENT LOST" in record.getMessage()
    assert KEY in record.getMessage()
    assert '"error":"negative quantity"' in record.getMessage().replace(": ", ":").replace(", ", ",")


def test_the_outbox_helpers_never_raise_when_the_services_are_unreachable() -> None:
    """The real helpers, with the connection lookups failing as they do when a service is gone."""
    from include.markets_ops.airflow import outbox

    event = outbox.OutboxEvent.of("ops.airflow.events", KEY, {"event": "task_failed"})
    with (
        mock.patch("include.markets_ops.airflow.connections.connection", side_effect=OSError("gone")),
        mock.patch("include.markets_ops.airflow.connections.kafka_config", side_effect=OSError("gone")),
    ):
        assert callbacks._store(event) is None
        assert callbacks._publish_now(event) is False
        callbacks._record_delivery(event)  # logged, not raised


# --- one schema for the topic: the project's events and the provider's -----------------------


def test_both_events_conform_to_the_topics_schema() -> None:
    from tests.support.airflow_events import schema_errors

    _, failed = callbacks.task_failure_event(_context(exception=ValueError("negative quantity in 3 rows")))
    _, late = callbacks.deadline_missed_event(
        {
            "dag_run": {"dag_id": "ops_sql_alerts", "dag_run_id": "manual__1", "conf": {}, "state": "queued"},
            "deadline": {"id": "d1", "deadline_time": "2026-10-30T23:59:00+00:00"},
        },
        "nightly_cutoff",
    )
    assert (schema_errors(failed), schema_errors(late)) == ([], [])
    assert schema_errors({**failed, "business_date": "30/10/2026"}) != []  # the check checks


def _provider_bodies(monkeypatch: Any) -> list[dict[str, Any]]:
    """What the apache-kafka provider's event producer publishes, from its own code, its producer
    replaced by one that keeps the messages."""
    import json

    from airflow.providers.apache.kafka.plugins import event_producer

    kept: list[dict[str, Any]] = []
    producer = mock.Mock()
    producer.produce.side_effect = lambda topic, key, value, on_delivery: kept.append(json.loads(value))
    monkeypatch.setattr(event_producer, "_dag_run_events_enabled", lambda: True)
    monkeypatch.setattr(event_producer, "_check_topic_exists", lambda: True)
    monkeypatch.setattr(event_producer, "_get_producer", lambda: producer)
    run = SimpleNamespace(
        dag_id="trade_reconciliation",
        run_id="manual__1",
        run_type="manual",
        logical_date=None,
        start_date=dt.datetime(2026, 10, 30, 23, tzinfo=dt.UTC),
        end_date=None,
    )
    ti = SimpleNamespace(dag_id="trade_reconciliation", task_id="reconcile", run_id="manual__1", try_number=1)
    event_producer.DagRunListener().on_dag_run_running(dag_run=run, msg="")
    event_producer.TaskListener().on_task_instance_running(previous_state=None, task_instance=ti)
    event_producer.TaskListener().on_task_instance_failed(
        previous_state="running", task_instance=ti, error=TimeoutError("S3 did not answer")
    )
    return kept


def test_the_providers_events_conform_to_the_same_schema(monkeypatch: Any) -> None:
    from tests.support.airflow_events import schema_errors

    bodies = _provider_bodies(monkeypatch)

    assert [b["event"] for b in bodies] == [
        "dag_run.running",
        "task_instance.running",
        "task_instance.failed",
    ]
    assert [schema_errors(b) for b in bodies] == [[], [], []]
    # The envelope the project's events copy: the same names for the same things.
    envelope = {"schema_version", "source", "event", "timestamp", "dag_id", "run_id"}
    assert all(envelope <= set(body) for body in bodies)
