"""Operations events survive a Kafka outage: stored in the PostgreSQL outbox while the broker is
paused (SIGSTOP of its recorded pid, SIGCONT in finally), delivered once by the relay after it
resumes, never twice by a second relay or a second callback; the callbacks' role may only insert."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import psycopg
import pytest

from include.markets_ops.airflow import callbacks, connections
from include.markets_ops.services.kafka import DeliveryError, consumer
from include.markets_ops.services.topics import AIRFLOW_EVENTS

RELAY_DAG = "ops_events_relay"
HEARTBEAT_DAG = "business_calendar_heartbeat"


@contextlib.contextmanager
def kafka_paused() -> Iterator[None]:
    from devstack.kafka import NAME
    from devstack.process import recorded_pid

    pid = recorded_pid(NAME)
    assert pid, "the stack's Kafka broker is not running (no recorded pid)"
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def messages_with_key(key: str) -> list[bytes]:
    """Every value on ops.airflow.events with ``key``: the whole topic read to its end."""
    from confluent_kafka import TopicPartition

    reader = consumer(connections.kafka_reader_config(), "outbox-check")
    found: list[bytes] = []
    try:
        topic = AIRFLOW_EVENTS.name
        partitions = reader.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
        reader.assign([TopicPartition(topic, p, 0) for p in partitions])
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None or message.error():
                continue
            if (message.key() or b"").decode() == key:
                found.append(message.value() or b"")
            if message.offset() >= ends[message.partition()] - 1:
                remaining.discard(message.partition())
        assert not remaining, f"could not read {topic} to its end within 60 s"
    finally:
        reader.close()
    return found


def outbox_rows(stack: dict[str, str], key: str) -> list[tuple]:
    """(event_type, payload, delivered_by or None) of the key, read as the reporting role."""
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        return reader.execute(
            "SELECT o.event_type, o.payload, d.delivered_by FROM events.outbox o "
            "LEFT JOIN events.outbox_deliveries d USING (topic, event_key) "
            "WHERE o.topic = %s AND o.event_key = %s",
            (AIRFLOW_EVENTS.name, key),
        ).fetchall()


def failure_context(task_id: str) -> tuple[str, dict]:
    run_id = f"manual__pytest-outbox-{uuid.uuid4().hex[:8]}"
    ti = SimpleNamespace(
        dag_id="settlement_risk_scoring",
        task_id=task_id,
        run_id=run_id,
        map_index=-1,
        try_number=3,
        max_tries=2,
        log_url="http://127.0.0.1/log",
    )
    context = {"ti": ti, "params": {"business_date": "2026-11-27"}, "exception": TimeoutError("broker")}
    return f"settlement_risk_scoring/{run_id}/{task_id}/-1/3", context


def relay() -> dict:
    from include.markets_ops.ops_events import tasks

    return tasks.relay_events()


def test_a_failure_while_kafka_is_paused_is_stored_then_delivered_once_after_it_resumes(
    stack: dict[str, str],
) -> None:
    key, context = failure_context("score_shard")
    relay()  # nothing older pending: what the relays below publish is this test's

    with kafka_paused():
        started = time.monotonic()
        callbacks.on_task_failure(context)  # must return, not hang, and not raise
        callback_seconds = time.monotonic() - started
        [(event_type, payload, delivered_by)] = outbox_rows(stack, key)
        with pytest.raises(DeliveryError, match=r"Kafka delivery to ops\.airflow\.events failed"):
            relay()  # Kafka still paused: the relay fails and the event stays pending
    assert callback_seconds < 30, f"the callback took {callback_seconds:.1f} s with Kafka paused"
    assert event_type == "task_failed"
    assert payload["error"] == "broker"
    assert delivered_by is None
    assert outbox_rows(stack, key)[0][2] is None

    # Counted on this topic: lineage events of whatever Airflow ran during the pause wait in the
    # same outbox (docs/lineage.md) and go out with it.
    first = relay()
    assert first["by_topic"].get(AIRFLOW_EVENTS.name) == 1
    assert outbox_rows(stack, key)[0][2] == "relay"
    second = relay()
    assert AIRFLOW_EVENTS.name not in second["by_topic"]

    delivered = messages_with_key(key)
    assert len(delivered) == 1, delivered
    assert json.loads(delivered[0]) == payload


def test_a_callback_fired_twice_stores_one_row_and_sends_one_message(stack: dict[str, str]) -> None:
    key, context = failure_context("write_manifest")
    callbacks.on_task_failure(context)
    callbacks.on_task_failure(context)

    [(_, _, delivered_by)] = outbox_rows(stack, key)
    assert delivered_by == "callback"  # Kafka was up: the callback delivered it itself
    assert AIRFLOW_EVENTS.name not in relay()["by_topic"]
    assert len(messages_with_key(key)) == 1


def test_with_postgres_refusing_the_event_still_reaches_kafka(stack: dict[str, str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The outbox's connection broken (wrong password): the event is published directly."""
    from urllib.parse import urlsplit, urlunsplit

    key, context = failure_context("prepare_scoring")
    url = urlsplit(stack["OPS_EVENTS_WRITER_URL"])
    wrong = url._replace(netloc=f"ops_events_writer:wrong@{url.hostname}:{url.port}")
    monkeypatch.setenv("AIRFLOW_CONN_OPS_EVENTS_OUTBOX", urlunsplit(wrong))
    callbacks.on_task_failure(context)
    assert outbox_rows(stack, key) == []
    assert len(messages_with_key(key)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM events.outbox",
        "UPDATE events.outbox SET event_type = 'x'",
        "DELETE FROM events.outbox",
        "DELETE FROM events.outbox_deliveries",
        "INSERT INTO events.outbox (topic, event_key, event_type, payload) VALUES ('t', 'k', 'x', '{}') "
        "RETURNING event_id",
        "SELECT count(*) FROM ops.trades",
    ],
)
def test_the_callbacks_role_may_only_insert(stack: dict[str, str], statement: str) -> None:
    with (
        psycopg.connect(stack["OPS_EVENTS_WRITER_URL"]) as writer,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        writer.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events.outbox SET event_type = 'x'",
        "DELETE FROM events.outbox",
        "INSERT INTO events.outbox (topic, event_key, event_type, payload) VALUES ('t', 'k', 'x', '{}')",
    ],
)
def test_the_relay_role_reads_and_marks_but_cannot_change_an_event(
    stack: dict[str, str], statement: str
) -> None:
    with psycopg.connect(stack["POSTGRES_URL"]) as relay_role:
        relay_role.execute("SELECT count(*) FROM events.outbox").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            relay_role.execute(statement)


def test_a_dag_task_failing_while_kafka_is_paused_gets_its_event_delivered_by_the_relay_dag(
    stack: dict[str, str], airflow_api
) -> None:  # type: ignore[no-untyped-def]
    """End to end: the heartbeat refuses a holiday (fails without retry), its failure callback
    runs in the worker while Kafka is paused; after Kafka resumes, a run of the relay DAG
    delivers the event, once."""
    airflow_api.wait_for_dag(HEARTBEAT_DAG)
    airflow_api.wait_for_dag(RELAY_DAG)
    airflow_api.unpause(HEARTBEAT_DAG)
    run_id = f"manual__pytest-outbox-{uuid.uuid4().hex[:8]}"
    key = f"{HEARTBEAT_DAG}/{run_id}/check_business_date/-1/1"
    with kafka_paused():
        airflow_api.trigger(HEARTBEAT_DAG, None, conf={"business_date": "2026-11-26"}, run_id=run_id)
        assert airflow_api.wait_for_run(HEARTBEAT_DAG, run_id, timeout=300)["state"] == "failed"
        deadline = time.monotonic() + 60  # the callback ends the try: give it its delivery timeout
        while not outbox_rows(stack, key) and time.monotonic() < deadline:
            time.sleep(1)
        [(event_type, payload, delivered_by)] = outbox_rows(stack, key)
    assert event_type == "task_failed"
    assert "not a business day" in payload["error"] or "2026-11-26" in payload["error"]
    assert delivered_by is None

    airflow_api.unpause(RELAY_DAG)
    relay_run = airflow_api.trigger(RELAY_DAG, None)
    assert airflow_api.wait_for_run(RELAY_DAG, relay_run, timeout=300)["state"] == "success"
    assert outbox_rows(stack, key)[0][2] == "relay"
    delivered = messages_with_key(key)
    assert len(delivered) == 1
    assert json.loads(delivered[0]) == payload
