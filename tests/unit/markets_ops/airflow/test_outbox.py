"""The outbox's store and relay against an in-memory fake of its two tables, which answers the
project's own SQL files (include/sql/events/) with their meaning, transactions included."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import pytest

from include.markets_ops.airflow import outbox
from include.markets_ops.services.kafka import DeliveryError, encode
from include.markets_ops.services.sql_files import read_sql

TOPIC = "ops.airflow.events"


class FakeOutboxDatabase:
    """events.outbox and events.outbox_deliveries; a transaction that raises is rolled back."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], dict[str, Any]] = {}  # insertion order = event_id order
        self.deliveries: dict[tuple[str, str], str] = {}
        self.locked_by_another_relay = False
        self.timeouts_set = 0


class FakeCursor:
    def __init__(self, db: FakeOutboxDatabase) -> None:
        self.db = db
        self.rowcount = -1
        self.rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        params = params or {}
        if sql == read_sql("events/set_timeouts.sql"):
            assert params == outbox.TIMEOUTS
            self.db.timeouts_set += 1
        elif sql == read_sql("events/store_event.sql"):
            key = (params["topic"], params["event_key"])
            self.rowcount = 0 if key in self.db.events else 1
            self.db.events.setdefault(
                key, {"event_type": params["event_type"], "payload": params["payload"].obj}
            )
        elif sql == read_sql("events/record_delivery.sql"):
            key = (params["topic"], params["event_key"])
            assert key in self.db.events, "foreign key: a delivery of an event never stored"
            self.rowcount = 0 if key in self.db.deliveries else 1
            self.db.deliveries.setdefault(key, params["delivered_by"])
        elif sql == read_sql("events/relay_lock.sql"):
            self.rows = [(not self.db.locked_by_another_relay,)]
        elif sql == read_sql("events/pending_events.sql"):
            pending = [key for key in self.db.events if key not in self.db.deliveries]
            self.rows = [
                (topic, key, copy.deepcopy(self.db.events[(topic, key)]["payload"]))
                for topic, key in pending[: params["batch_size"]]
            ]
        else:
            raise AssertionError(f"unexpected SQL: {sql}")

    def executemany(self, sql: str, params_seq: list[dict[str, Any]]) -> None:
        for params in params_seq:
            self.execute(sql, params)

    def fetchone(self) -> tuple[Any, ...]:
        return self.rows[0]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class FakeConnection:
    def __init__(self, db: FakeOutboxDatabase) -> None:
        self.db = db
        self.transactions = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        before = (dict(self.db.events), dict(self.db.deliveries))
        self.transactions += 1
        try:
            yield
        except BaseException:
            self.db.events, self.db.deliveries = before
            raise

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.db)


class FakeKafka:
    """What a consumer of each topic would read; ``down`` refuses every publish."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, bytes]] = []
        self.down = False

    def publish(self, topic: str, messages: list[tuple[str, dict[str, Any]]]) -> int:
        if self.down:
            raise DeliveryError(f"Kafka delivery to {topic} failed: 0 of {len(messages)} acknowledged")
        self.log += [(topic, key, encode(value)) for key, value in messages]
        return len(messages)

    def keys(self) -> list[str]:
        return [key for _, key, _ in self.log]


def _event(key: str = "ops_demo_feed/manual__1/load_trades/-1/1", **value: Any) -> outbox.OutboxEvent:
    return outbox.OutboxEvent.of(TOPIC, key, {"event": "task_failed", "try_number": 1, **value})


@pytest.fixture
def db() -> FakeOutboxDatabase:
    return FakeOutboxDatabase()


def test_an_event_is_stored_once_per_key(db: FakeOutboxDatabase) -> None:
    connection = FakeConnection(db)
    assert outbox.store(connection, _event(exception="first")) is True
    assert outbox.store(connection, _event(exception="fired twice")) is False
    assert list(db.events) == [(TOPIC, "ops_demo_feed/manual__1/load_trades/-1/1")]
    assert db.events[(TOPIC, "ops_demo_feed/manual__1/load_trades/-1/1")]["payload"]["exception"] == "first"
    assert db.timeouts_set == 2  # every transaction is bounded


def test_the_stored_payload_is_what_kafka_carries() -> None:
    import datetime as dt

    queued = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)
    event = outbox.OutboxEvent.of(TOPIC, "k", {"event": "deadline_missed", "queued_at": queued})
    assert event.event_type == "deadline_missed"
    assert event.payload["queued_at"] == str(queued)  # JSON as the producer encodes it
    assert encode(event.payload) == encode({"event": "deadline_missed", "queued_at": queued})


def test_the_relay_delivers_pending_events_in_order_and_marks_them(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    for n in range(3):
        outbox.store(connection, _event(f"dag/run/task/-1/{n}"))
    outbox.record_delivery(connection, TOPIC, "dag/run/task/-1/1", outbox.DELIVERED_BY_CALLBACK)

    report = outbox.relay(connection, kafka.publish)

    assert kafka.keys() == ["dag/run/task/-1/0", "dag/run/task/-1/2"]  # the delivered one is not resent
    assert report.as_dict() == {
        "published": 2,
        "batches": 1,
        "locked_out": False,
        "topics": [TOPIC],
        "by_topic": {TOPIC: 2},
    }
    assert db.deliveries == {
        (TOPIC, "dag/run/task/-1/0"): "relay",
        (TOPIC, "dag/run/task/-1/1"): "callback",
        (TOPIC, "dag/run/task/-1/2"): "relay",
    }


def test_a_second_relay_publishes_nothing_new(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    outbox.store(connection, _event())
    outbox.relay(connection, kafka.publish)
    report = outbox.relay(connection, kafka.publish)
    assert report.published == 0
    assert kafka.keys() == ["ops_demo_feed/manual__1/load_trades/-1/1"]


def test_while_kafka_is_down_the_relay_fails_and_the_events_stay_pending(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    outbox.store(connection, _event())
    kafka.down = True
    with pytest.raises(DeliveryError):
        outbox.relay(connection, kafka.publish)
    assert db.deliveries == {}
    kafka.down = False
    assert outbox.relay(connection, kafka.publish).published == 1
    assert kafka.keys() == ["ops_demo_feed/manual__1/load_trades/-1/1"]


def test_a_crash_between_publish_and_mark_resends_the_same_key_and_bytes(db: FakeOutboxDatabase) -> None:
    """The documented duplicate: consumers deduplicate by key."""
    connection, kafka = FakeConnection(db), FakeKafka()
    outbox.store(connection, _event())

    def publish_then_crash(topic: str, messages: list[tuple[str, dict[str, Any]]]) -> int:
        kafka.publish(topic, messages)
        raise ConnectionError("worker killed before the delivery was recorded")

    with pytest.raises(ConnectionError):
        outbox.relay(connection, publish_then_crash)
    outbox.relay(connection, kafka.publish)
    assert len(kafka.log) == 2
    assert kafka.log[0] == kafka.log[1]  # same topic, key and bytes
    assert outbox.relay(connection, kafka.publish).published == 0


def test_the_relay_works_in_batches_each_in_its_own_transaction(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    for n in range(5):
        outbox.store(connection, _event(f"k{n}"))
    stores = connection.transactions

    report = outbox.relay(connection, kafka.publish, batch_size=2)

    assert kafka.keys() == ["k0", "k1", "k2", "k3", "k4"]
    assert (report.published, report.batches) == (5, 3)
    assert connection.transactions - stores == 3


def test_the_relay_stops_at_max_batches_and_leaves_the_rest_pending(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    for n in range(5):
        outbox.store(connection, _event(f"k{n}"))
    assert outbox.relay(connection, kafka.publish, batch_size=2, max_batches=1).published == 2
    assert len(db.deliveries) == 2


def test_a_relay_locked_out_by_another_does_nothing(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    outbox.store(connection, _event())
    db.locked_by_another_relay = True
    report = outbox.relay(connection, kafka.publish)
    assert report.locked_out
    assert report.published == 0
    assert kafka.log == []


def test_events_of_several_topics_go_to_their_own_topic_in_stored_order(db: FakeOutboxDatabase) -> None:
    connection, kafka = FakeConnection(db), FakeKafka()
    for topic, key in (("a", "1"), ("a", "2"), ("b", "3"), ("a", "4")):
        outbox.store(connection, outbox.OutboxEvent.of(topic, key, {"event": "task_failed"}))
    outbox.relay(connection, kafka.publish)
    assert [(topic, key) for topic, key, _ in kafka.log] == [("a", "1"), ("a", "2"), ("b", "3"), ("a", "4")]


def test_bounded_delivery_sets_the_message_timeout_and_keeps_the_rest() -> None:
    config = outbox.bounded_delivery({"bootstrap.servers": "127.0.0.1:9092"}, 15)
    assert config == {"bootstrap.servers": "127.0.0.1:9092", "message.timeout.ms": 15000}
