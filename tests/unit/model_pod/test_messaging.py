"""The jobs' producer: bounded delivery whatever the configuration says."""

from __future__ import annotations

from typing import Any

import pytest
from settlement_model import messaging


def test_the_producer_is_bounded_and_a_missing_acknowledgement_fails_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import confluent_kafka

    made: list[dict[str, Any]] = []
    real = confluent_kafka.Producer

    def recording(config: dict[str, Any]) -> Any:
        made.append(config)
        return real(config)

    monkeypatch.setattr(confluent_kafka, "Producer", recording)
    publisher = messaging.ReliablePublisher(
        {"bootstrap.servers": "127.0.0.1:9", "message.timeout.ms": 300_000}, "t", flush_timeout_seconds=0.5
    )
    assert (
        made[0].items()
        >= {
            "message.timeout.ms": 45_000,
            "request.timeout.ms": 15_000,
            "socket.timeout.ms": 10_000,
            "socket.connection.setup.timeout.ms": 10_000,
        }.items()
    )
    publisher.send("k", {"v": 1})
    with pytest.raises(messaging.DeliveryError, match=r"^Kafka delivery to t failed: 0 of 1 acknowledged"):
        publisher.close()


def test_the_flush_waits_past_the_message_timeout_by_default() -> None:
    publisher = messaging.ReliablePublisher({"bootstrap.servers": "127.0.0.1:9"}, "t")
    assert publisher.flush_timeout_seconds == 50


def test_a_failed_delivery_names_what_the_client_reported() -> None:
    publisher = messaging.ReliablePublisher(
        {"bootstrap.servers": "127.0.0.1:9"}, "t", flush_timeout_seconds=2
    )
    publisher.send("k", {"v": 1})
    with pytest.raises(messaging.DeliveryError, match=r"Connection refused|brokers are down"):
        publisher.close()
