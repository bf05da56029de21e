"""The relay task: the writer role's connection in autocommit, Kafka with a bounded delivery."""

from __future__ import annotations

from typing import Any
from unittest import mock

from include.markets_ops.airflow import outbox
from include.markets_ops.ops_events import tasks
from include.markets_ops.services import postgres


class _Connection:
    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_relay_task_publishes_with_a_bounded_idempotent_producer_as_the_writer_role() -> None:
    opened: list[tuple[str, dict[str, Any]]] = []
    produced: list[tuple[dict[str, Any], str, list, float]] = []

    def connect_postgres(conn_id: str, **settings: Any) -> _Connection:
        opened.append((conn_id, settings))
        return _Connection()

    def fake_relay(connection: Any, publish: outbox.Publish) -> outbox.RelayReport:
        publish("ops.airflow.events", [("k", {"event": "task_failed"})])
        return outbox.RelayReport(published=1, batches=1, by_topic={"ops.airflow.events": 1})

    def kafka_publish(config: dict, topic: str, messages: list, timeout_seconds: float) -> int:
        produced.append((config, topic, messages, timeout_seconds))
        return len(messages)

    with (
        mock.patch.object(tasks.connections, "connect_postgres", connect_postgres),
        mock.patch.object(
            tasks.connections, "kafka_config", return_value={"bootstrap.servers": "127.0.0.1:1"}
        ),
        mock.patch.object(tasks.kafka, "publish", kafka_publish),
        mock.patch.object(tasks.outbox, "relay", fake_relay),
    ):
        result = tasks.relay_events()

    assert result == {
        "published": 1,
        "batches": 1,
        "locked_out": False,
        "topics": ["ops.airflow.events"],
        "by_topic": {"ops.airflow.events": 1},
    }
    assert opened == [
        (postgres.WAREHOUSE_CONN_ID, {"connect_timeout": outbox.CONNECT_TIMEOUT_SECONDS, "autocommit": True})
    ]
    [(config, topic, messages, timeout)] = produced
    assert config["message.timeout.ms"] == outbox.RELAY_DELIVERY_SECONDS * 1000
    assert timeout == outbox.RELAY_DELIVERY_SECONDS
    assert (topic, messages) == ("ops.airflow.events", [("k", {"event": "task_failed"})])
