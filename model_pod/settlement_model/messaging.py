"""Producing to Kafka with every delivery checked (the pod's own copy of the project's rule).

An idempotent producer with acks=all: a broker retry never duplicates a message, and a
message counts as sent only when every in-sync replica has it. Any message that is not
acknowledged by the end fails the job. The pod package cannot import the Airflow project,
so this mirrors include/markets_ops/services/kafka.py on purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from settlement_model import timeouts

# Reliability settings that no configuration may weaken (applied last).
RELIABLE_PRODUCER: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
    "compression.type": "lz4",
    "linger.ms": 20,
    "batch.size": 1_000_000,
}


class DeliveryError(RuntimeError):
    """At least one message was not acknowledged by the brokers."""


def encode(value: dict[str, Any]) -> bytes:
    """Stable JSON: the same event always has the same bytes (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


@dataclass
class _Report:
    delivered: int = 0
    failed: int = 0
    first_errors: list[str] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)

    def __call__(self, error: Any, message: Any) -> None:
        if error is None:
            self.delivered += 1
            return
        self.failed += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{message.topic()}[{message.key()!r}]: {error}")

    def client_error(self, error: Any) -> None:
        """The producer's error_cb: a refused login or a fatal error (the brokers' ACLs refuse
        an idempotent producer its id) would otherwise only be logged, or raised from inside
        a callback; kept to name the cause when the messages fail or time out."""
        if len(self.client_errors) < 3:
            self.client_errors.append(str(error.str() if hasattr(error, "str") else error))


class ReliablePublisher:
    """Produce many messages to one topic; ``close()`` waits for and checks every delivery."""

    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        flush_timeout_seconds: float = timeouts.KAFKA_FLUSH_TIMEOUT_SECONDS,
    ) -> None:
        from confluent_kafka import Producer

        self.topic = topic
        self.flush_timeout_seconds = flush_timeout_seconds
        # Timeouts last, like the reliability settings: no configuration may lift the bounds
        # (a tighter one is kept).
        self._report = _Report()
        self._producer = Producer(
            {
                **config,
                **RELIABLE_PRODUCER,
                **timeouts.kafka_producer_timeouts(config),
                "error_cb": self._report.client_error,
            }
        )
        self.sent = 0

    def send(self, key: str, value: dict[str, Any]) -> None:
        self.send_encoded(key, encode(value))

    def send_encoded(self, key: str, payload: bytes) -> None:
        """``send`` of a value already encoded (as ``encode`` does)."""
        while True:
            try:
                self._producer.produce(self.topic, key=key.encode(), value=payload, on_delivery=self._report)
                break
            except BufferError:
                self._producer.poll(0.5)  # local queue full: let deliveries drain, then retry
        self.sent += 1
        if self.sent % 10_000 == 0:
            self._producer.poll(0)
        if self._report.failed:
            self._raise(unflushed=0)  # fail fast: no point producing the rest

    def close(self) -> int:
        """Wait for every acknowledgement; raise DeliveryError unless all were delivered."""
        unflushed = self._producer.flush(self.flush_timeout_seconds)
        if self._report.failed or unflushed or self._report.delivered != self.sent:
            self._raise(unflushed)
        return self._report.delivered

    def _raise(self, unflushed: int) -> None:
        report = self._report
        raise DeliveryError(
            f"Kafka delivery to {self.topic} failed: {report.delivered} of {self.sent} acknowledged, "
            f"{report.failed} errors, {unflushed} still queued. "
            f"First errors: {'; '.join(report.first_errors + report.client_errors) or 'timeout'}"
        )
