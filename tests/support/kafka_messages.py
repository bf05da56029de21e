"""Reading back what the pipelines published to Kafka, for the tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from include.markets_ops.services.kafka import READ_ONLY_GROUP_PREFIX


def _group() -> str:
    return f"{READ_ONLY_GROUP_PREFIX}pytest-{uuid.uuid4().hex}"


def read_topic(
    config: dict[str, Any],
    topic: str,
    key_filter: Callable[[str], bool],
    timeout_seconds: float = 20.0,
) -> list[tuple[str, dict[str, Any]]]:
    """Every (key, JSON value) on ``topic`` whose key passes ``key_filter``, from the beginning of
    every partition up to the end offsets seen when reading started."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **config,
            "group.id": _group(),
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


def end_offsets(config: dict[str, Any], topic: str) -> dict[int, int]:
    """partition -> the offset the next message will get (where a reader starts to see only newer ones)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**config, "group.id": _group()})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        }
    finally:
        consumer.close()


def read_from(
    config: dict[str, Any], topic: str, start: dict[int, int], timeout_seconds: float = 30.0
) -> list[tuple[str, dict[str, Any]]]:
    """Every (key, JSON value) published to ``topic`` after ``start`` (end_offsets taken earlier),
    up to its end now, partition by partition in offset order."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **config,
            "group.id": _group(),
            "enable.auto.commit": False,
        }
    )
    try:
        ends = end_offsets(config, topic)
        pending = {p for p, end in ends.items() if end > start.get(p, 0)}
        consumer.assign([TopicPartition(topic, p, start.get(p, 0)) for p in pending])
        found: dict[int, list[tuple[str, dict[str, Any]]]] = {p: [] for p in pending}
        deadline = time.monotonic() + timeout_seconds
        while pending and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error() or message.partition() not in pending:
                continue
            found[message.partition()].append(((message.key() or b"").decode(), json.loads(message.value())))
            if message.offset() >= ends[message.partition()] - 1:
                pending.discard(message.partition())
        if pending:
            raise TimeoutError(
                f"{topic}: partitions {sorted(pending)} not read to their end in {timeout_seconds}s"
            )
        return [item for partition in sorted(found) for item in found[partition]]
    finally:
        consumer.close()
