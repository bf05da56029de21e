"""Kafka clients: bounded delivery and requests whatever the connection's extra says, and a
delivery that does not happen fails naming the topic."""

from __future__ import annotations

from typing import Any

import pytest

from include.markets_ops.services import kafka

BOUNDS = {
    "socket.timeout.ms": 10_000,
    "socket.connection.setup.timeout.ms": 10_000,
    "message.timeout.ms": 45_000,
    "request.timeout.ms": 15_000,
}


def test_a_producer_gets_the_timeouts_over_the_connections_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import confluent_kafka

    made: list[dict[str, Any]] = []
    real = confluent_kafka.Producer

    def recording(config: dict[str, Any]) -> Any:
        made.append(config)
        return real(config)

    monkeypatch.setattr(confluent_kafka, "Producer", recording)
    extra = {"bootstrap.servers": "127.0.0.1:9", "message.timeout.ms": 300_000, "client.id": "x"}
    with pytest.raises(kafka.DeliveryError, match="Kafka delivery to t failed: 0 of 1 acknowledged"):
        kafka.publish(extra, "t", [("k", {"v": 1})], timeout_seconds=0.5)
    assert made[0].items() >= {**BOUNDS, "client.id": "x", "acks": "all"}.items()


def test_the_flush_outlasts_the_message_timeout_by_default() -> None:
    import inspect

    default = inspect.signature(kafka.publish).parameters["timeout_seconds"].default
    assert default * 1000 > BOUNDS["message.timeout.ms"]


def test_a_consumer_gets_the_request_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    import confluent_kafka

    made: list[dict[str, Any]] = []
    monkeypatch.setattr(confluent_kafka, "Consumer", made.append)
    kafka.consumer({"bootstrap.servers": "127.0.0.1:9"}, "check")
    assert made[0]["socket.timeout.ms"] == 10_000
    assert made[0]["socket.connection.setup.timeout.ms"] == 10_000
    assert made[0]["group.id"].startswith(f"{kafka.READ_ONLY_GROUP_PREFIX}check-")


def test_a_delivery_that_fails_names_what_the_client_reported() -> None:
    """A refused login or connection is only logged by librdkafka; the error names it."""
    with pytest.raises(kafka.DeliveryError, match=r"Connection refused|brokers are down"):
        kafka.publish({"bootstrap.servers": "127.0.0.1:9"}, "t", [("k", {"v": 1})], timeout_seconds=2)
