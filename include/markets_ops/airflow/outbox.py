"""The outbox of the operations events: an event raised while Kafka is down is kept in
PostgreSQL and delivered once Kafka is back, once per key.

How an event travels (callbacks.py stores and publishes, the ``ops_events_relay`` DAG relays):
1. ``store``: the callback inserts it into ``events.outbox`` as ``ops_events_writer``, a role
   that may only insert. The key is unique per topic, so a callback fired twice stores one row.
2. The callback publishes it at once (Kafka up: no delay) and, when Kafka acknowledged it,
   ``record_delivery`` inserts its row into ``events.outbox_deliveries``.
3. ``relay``: every event without a delivery row is pending; the relay (as warehouse_writer)
   publishes the pending events in the order they were stored and records their deliveries,
   in one transaction per batch under an advisory lock (one relay at a time).

Exactly once per key, not per message: a crash (or a lost connection) between Kafka's
acknowledgement and the delivery row sends the same key with the same bytes again on the next
relay. Consumers deduplicate by key (the producer is idempotent, acks=all, so a retried send
within one producer never duplicates).

Plain values only (a psycopg connection, a publish function): the Airflow side opens them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from include.markets_ops.services.kafka import encode
from include.markets_ops.services.sql_files import read_sql

# The callbacks run after a task failed or in the triggerer: storing must be quick or give up.
CONNECT_TIMEOUT_SECONDS = 5
TIMEOUTS = {"statement_timeout": "5s", "lock_timeout": "2s"}
# How long one publish may wait for Kafka's acknowledgements (the producer's message timeout and
# its flush): the callback's immediate publish, and each batch of the relay.
CALLBACK_DELIVERY_SECONDS = 15
RELAY_DELIVERY_SECONDS = 30
RELAY_BATCH_SIZE = 500
RELAY_MAX_BATCHES = 20  # 10,000 events per relay run; the next run takes the rest
DELIVERED_BY_CALLBACK = "callback"
DELIVERED_BY_RELAY = "relay"

# (topic, [(key, value), ...]) -> how many Kafka acknowledged; raises when any was not.
Publish = Callable[[str, list[tuple[str, dict[str, Any]]]], int]


@dataclass(frozen=True)
class OutboxEvent:
    topic: str
    key: str
    event_type: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, topic: str, key: str, value: Mapping[str, Any]) -> OutboxEvent:
        """The event as Kafka will carry it: the value through the producer's own JSON encoding,
        so the stored payload, the immediate publish and a relayed publish are the same bytes."""
        payload = json.loads(encode(dict(value)))
        return cls(topic, key, str(payload.get("event")), payload)


def bounded_delivery(config: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A producer configuration whose messages fail after ``seconds`` instead of librdkafka's
    default 5 minutes (so nothing keeps retrying after the flush has given up)."""
    return {**config, "message.timeout.ms": int(seconds * 1000)}


def _set_timeouts(cursor: Any) -> None:
    cursor.execute(read_sql("events/set_timeouts.sql"), TIMEOUTS)


def store(connection: Any, event: OutboxEvent) -> bool:
    """Insert the event into the outbox; True if stored now, False if its key already was."""
    from psycopg.types.json import Jsonb

    with connection.transaction(), connection.cursor() as cursor:
        _set_timeouts(cursor)
        cursor.execute(
            read_sql("events/store_event.sql"),
            {
                "topic": event.topic,
                "event_key": event.key,
                "event_type": event.event_type,
                "payload": Jsonb(event.payload),
            },
        )
        return bool(cursor.rowcount == 1)


def record_delivery(connection: Any, topic: str, key: str, delivered_by: str) -> None:
    """Kafka acknowledged the event: it is no longer pending."""
    with connection.transaction(), connection.cursor() as cursor:
        _set_timeouts(cursor)
        cursor.execute(
            read_sql("events/record_delivery.sql"),
            {"topic": topic, "event_key": key, "delivered_by": delivered_by},
        )


@dataclass
class RelayReport:
    published: int = 0
    batches: int = 0
    locked_out: bool = False  # another relay was running: this one did nothing
    # Events published per topic: the outbox holds other producers' events too (the lineage
    # transport's, docs/lineage.md), so a count of all says little about one kind.
    by_topic: dict[str, int] = field(default_factory=dict)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(sorted(self.by_topic))

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "batches": self.batches,
            "locked_out": self.locked_out,
            "topics": list(self.topics),
            "by_topic": dict(sorted(self.by_topic.items())),
        }


def relay(
    connection: Any,
    publish: Publish,
    batch_size: int = RELAY_BATCH_SIZE,
    max_batches: int = RELAY_MAX_BATCHES,
) -> RelayReport:
    """Publish the pending events, oldest first, and record their deliveries.

    Each batch is one transaction: lock, read, publish, record, commit. When publishing fails
    (Kafka down), the error propagates and the batch's transaction rolls back: its events stay
    pending, and those Kafka did acknowledge before the failure go again next time (same keys).
    ``connection`` must be in autocommit mode (each ``transaction()`` is a real transaction).
    """
    report = RelayReport()
    for _ in range(max_batches):
        with connection.transaction(), connection.cursor() as cursor:
            _set_timeouts(cursor)
            cursor.execute(read_sql("events/relay_lock.sql"))
            if not cursor.fetchone()[0]:
                report.locked_out = True
                break
            cursor.execute(read_sql("events/pending_events.sql"), {"batch_size": batch_size})
            pending = cursor.fetchall()
            for topic, messages in _by_topic(pending):
                publish(topic, messages)
                cursor.executemany(
                    read_sql("events/record_delivery.sql"),
                    [
                        {"topic": topic, "event_key": key, "delivered_by": DELIVERED_BY_RELAY}
                        for key, _ in messages
                    ],
                )
                report.by_topic[topic] = report.by_topic.get(topic, 0) + len(messages)
        if pending:
            report.published += len(pending)
            report.batches += 1
        if len(pending) < batch_size:
            break
    return report


def _by_topic(
    rows: list[tuple[str, str, dict[str, Any]]],
) -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Consecutive rows of one topic as one publish, keeping the stored order within a topic."""
    for topic, group in groupby(rows, key=lambda row: row[0]):
        yield topic, [(key, payload) for _, key, payload in group]
