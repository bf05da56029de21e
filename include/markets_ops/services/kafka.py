"""Kafka: the connection id, the client configuration, producing so that nothing is lost
silently, and reading a topic back.

The client configuration is a confluent-kafka dict (the Airflow connection's extra, or the
local stack's bootstrap servers); ``publish`` and ``consumer`` are the only places a producer
or a consumer is made. The provider's ProduceToTopicOperator only logs delivery errors by
default and flushes per message when synchronous; here every message's delivery report is
checked and any failure fails the task, with an idempotent producer (acks=all) so a retry does
not duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from settlement_model import timeouts

KAFKA_CONN_ID = "kafka_markets"  # the pipelines' producer: the tasks' and callbacks' topics
KAFKA_SCORING_CONN_ID = "kafka_scoring"  # the scoring job's: the high-risk trades' topic only
KAFKA_READER_CONN_ID = "kafka_markets_reader"  # the dashboard's: may only read them

# Every read-back consumer's group starts with this: the only groups the brokers' ACLs let
# the readers use, so no reader can commit offsets for a group that processes a topic.
READ_ONLY_GROUP_PREFIX = "markets-ops-readback."

# Reliability settings that no connection extra may weaken.
RELIABLE_PRODUCER = {
    "enable.idempotence": True,
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
    "compression.type": "lz4",
    "linger.ms": 20,
    "batch.size": 1_000_000,
}


def config_of(connection: Any) -> dict[str, Any]:
    """The confluent-kafka client configuration held in an Airflow connection's extra."""
    config = dict(connection.extra_dejson)
    if "bootstrap.servers" not in config:
        raise ValueError(f"Airflow connection {connection.conn_id!r} has no 'bootstrap.servers' in its extra")
    return config


def consumer(config: dict[str, Any], group_prefix: str) -> Any:
    """A consumer in a throwaway group (READ_ONLY_GROUP_PREFIX, ``group_prefix`` and a random
    suffix) that commits nothing: for reading a topic back (checks, the demo's summary, the
    dashboard), never for processing it."""
    import uuid

    from confluent_kafka import Consumer

    return Consumer(
        {
            **config,
            **timeouts.kafka_client_timeouts(config),
            "group.id": f"{READ_ONLY_GROUP_PREFIX}{group_prefix}-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )


class DeliveryError(RuntimeError):
    """At least one message was not acknowledged by the brokers."""


@dataclass
class DeliveryReport:
    """The producer's delivery callback: counts acknowledgements, keeps the first errors."""

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


def encode(value: dict[str, Any]) -> bytes:
    """Stable JSON: the same event always has the same bytes (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def publish(
    config: dict[str, Any],
    topic: str,
    messages: Iterable[tuple[str, dict[str, Any]]],
    timeout_seconds: float = timeouts.KAFKA_FLUSH_TIMEOUT_SECONDS,
) -> int:
    """Produce (key, value) pairs to ``topic``; return how many were acknowledged.

    Raises DeliveryError when any message fails or is still unacknowledged at the timeout
    (every message fails within settlement_model.timeouts.KAFKA_MESSAGE_TIMEOUT_MS).
    """
    from confluent_kafka import Producer

    # Timeouts last, like the reliability settings: no connection extra may lift the bounds
    # (a tighter one is kept: the events relay's, outbox.bounded_delivery).
    report = DeliveryReport()
    settings = {**config, **RELIABLE_PRODUCER, **timeouts.kafka_producer_timeouts(config)}
    producer = Producer({**settings, "error_cb": report.client_error})
    sent = 0
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=encode(value), on_delivery=report)
                break
            except BufferError:
                producer.poll(0.5)  # local queue full: let deliveries drain, then retry
        sent += 1
        if sent % 10_000 == 0:
            producer.poll(0)
    unflushed = producer.flush(timeout_seconds)
    if report.failed or unflushed or report.delivered != sent:
        raise DeliveryError(
            f"Kafka delivery to {topic} failed: {report.delivered} of {sent} acknowledged, "
            f"{report.failed} errors, {unflushed} still queued. "
            f"First errors: {'; '.join(report.first_errors + report.client_errors) or 'timeout'}"
        )
    return report.delivered


def find_messages(
    config: dict[str, Any], topic: str, keys: set[str], timeout_seconds: float = 30.0
) -> dict[str, dict[str, Any]]:
    """Read ``topic`` from the beginning until every key in ``keys`` is seen; {key: decoded value}.

    For checks and tests (a throwaway consumer group, nothing committed). Raises TimeoutError
    naming the keys still missing.
    """
    import time

    from confluent_kafka import TopicPartition

    reader = consumer(config, "check")
    found: dict[str, dict[str, Any]] = {}
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        reader.assign([TopicPartition(topic, partition, 0) for partition in partitions])
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline and len(found) < len(keys):
            message = reader.poll(0.5)
            if message is None or message.error():
                continue
            key = (message.key() or b"").decode()
            if key in keys:
                found[key] = json.loads(message.value() or b"null")
    finally:
        reader.close()
    missing = keys - found.keys()
    if missing:
        raise TimeoutError(
            f"{len(missing)} keys not found on {topic} within {timeout_seconds}s: {sorted(missing)[:5]}"
        )
    return found
