"""Reading back what the pipelines published to Kafka, for the tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any


def read_topic(
    bootstrap_servers: str,
    topic: str,
    key_filter: Callable[[str], bool],
    timeout_seconds: float = 20.0,
) -> list[tuple[str, dict[str, Any]]]:
    """Every (key, JSON value) on ``topic`` whose key passes ``key_filter``, from the beginning of
    every partition up to the end offsets seen when reading started."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"pytest-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        }
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout_seconds
        while pending and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            key = (message.key() or b"").decode()
            if key_filter(key):
                found.append((key, json.loads(message.value())))
            if message.offset() >= ends[message.partition()] - 1:
                pending.discard(message.partition())
        if pending:
            raise TimeoutError(
                f"{topic}: partitions {sorted(pending)} not read to their end in {timeout_seconds}s"
            )
        return found
    finally:
        consumer.close()
