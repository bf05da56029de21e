"""Kafka's SASL/SCRAM users and ACLs on the running broker: no anonymous client and no wrong
password gets in; each producer (the pipelines, the scoring job, the custodians) writes only
its own topics; the pipelines' producer cannot read them, create topics or grant itself
rights; the reader reads but cannot write; the admin works only on the broker's own listener.
The product paths themselves (tasks, callbacks, model jobs, dashboard) are exercised through
these users by the other integration tests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devstack.stack_env import kafka_client_of
from include.markets_ops.services import kafka
from include.markets_ops.services.topics import (
    CUSTODIAN_STATEMENTS,
    HIGH_RISK_TRADES,
    OPS_ALERTS,
    RECON_SUMMARY,
    STACK_CHECKS,
)

TIMEOUT = 15


def _refusal(config: dict[str, Any]) -> str:
    """Publish one message as ``config``'s client; the DeliveryError's message (what a task's
    log shows), which must say that nothing was acknowledged."""
    with pytest.raises(kafka.DeliveryError) as refused:
        kafka.publish(config, STACK_CHECKS.name, [(f"auth-{uuid.uuid4().hex}", {"n": 0})], 8)
    assert "0 of 1 acknowledged" in str(refused.value)
    return str(refused.value)


def test_a_client_without_credentials_is_not_let_in(stack: dict[str, str]) -> None:
    _refusal({"bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]})


def test_a_wrong_password_is_refused_by_name(stack: dict[str, str]) -> None:
    wrong = "not-the-password"  # pragma: allowlist secret
    config = {**kafka_client_of(stack, "pipelines"), "sasl.password": wrong}
    assert "SASL authentication error: Authentication failed" in _refusal(config)


def test_the_admin_cannot_log_in_on_the_clients_listener(stack: dict[str, str]) -> None:
    """The admin is a PLAIN user of the broker's own listener; the clients' takes SCRAM only."""
    config = {**kafka_client_of(stack, "admin"), "bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]}
    assert "SASL" in _refusal(config)


def _first_error_code(consumer: Consumer) -> int | None:
    for _ in range(30):
        message = consumer.poll(0.5)
        if message is not None and message.error():
            return int(message.error().code())
    return None


def test_the_reader_cannot_write(stack: dict[str, str]) -> None:
    """A plain producer: an idempotent one is refused its producer id first, a fatal error
    that confluent-kafka 2.16 raises out of flush() as a KafkaError, not an exception."""
    from confluent_kafka import Producer

    results: list[Any] = []
    producer = Producer({**kafka_client_of(stack, "reader"), "enable.idempotence": False})
    producer.produce(RECON_SUMMARY.name, key=b"x", value=b"{}", on_delivery=lambda e, _m: results.append(e))
    assert producer.flush(20) == 0
    (error,) = results
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


@pytest.mark.parametrize(
    ("user", "topic"),
    [
        ("pipelines", HIGH_RISK_TRADES.name),  # only the scoring job writes the high-risk trades
        ("pipelines", CUSTODIAN_STATEMENTS.name),  # only the custodians announce statements
        ("scoring", OPS_ALERTS.name),
        ("scoring", CUSTODIAN_STATEMENTS.name),
        ("custodians", HIGH_RISK_TRADES.name),
        ("custodians", RECON_SUMMARY.name),
    ],
)
def test_a_producer_cannot_write_another_producers_topic(
    stack: dict[str, str], user: str, topic: str
) -> None:
    """Each producer may write only its own topics (their successful writes are the scoring,
    custodian statement and pipeline tests')."""
    from confluent_kafka import Producer

    results: list[Any] = []
    producer = Producer({**kafka_client_of(stack, user), "enable.idempotence": False})
    producer.produce(topic, key=b"x", value=b"{}", on_delivery=lambda e, _m: results.append(e))
    assert producer.flush(20) == 0
    (error,) = results
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_the_pipelines_cannot_read_a_product_topic(stack: dict[str, str]) -> None:
    config = kafka_client_of(stack, "pipelines")
    reader = Consumer({**config, "group.id": f"{kafka.READ_ONLY_GROUP_PREFIX}auth-{uuid.uuid4().hex}"})
    try:
        reader.assign([TopicPartition(RECON_SUMMARY.name, 0, 0)])
        assert _first_error_code(reader) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        reader.close()
    # ... except the stack check's own topic, which it reads back.
    key = f"auth-check-{uuid.uuid4().hex}"
    assert kafka.publish(config, STACK_CHECKS.name, [(key, {"n": 1})]) == 1
    assert kafka.find_messages(config, STACK_CHECKS.name, {key})[key] == {"n": 1}


def test_the_pipelines_cannot_create_topics_or_grant_rights(stack: dict[str, str]) -> None:
    from devstack.kafka import acl_bindings
    from include.markets_ops.services.topics import Topic

    admin = AdminClient(kafka_client_of(stack, "pipelines"))
    name = f"pytest.auth.{uuid.uuid4().hex[:8]}"
    (created,) = admin.create_topics([NewTopic(name, 1, 1)], request_timeout=TIMEOUT).values()
    with pytest.raises(KafkaException, match="AUTHORIZATION_FAILED"):
        created.result()
    grants = admin.create_acls(acl_bindings([Topic(name, 1, "x")])[:1], request_timeout=TIMEOUT)
    with pytest.raises(KafkaException, match="AUTHORIZATION_FAILED"):
        next(iter(grants.values())).result()


def test_the_reader_reads_only_in_read_back_groups(stack: dict[str, str]) -> None:
    config = kafka_client_of(stack, "reader")
    key = f"auth-check-{uuid.uuid4().hex}"
    kafka.publish(kafka_client_of(stack, "pipelines"), STACK_CHECKS.name, [(key, {"n": 2})])
    assert kafka.find_messages(config, STACK_CHECKS.name, {key})[key] == {"n": 2}
    # A group outside the read-back prefix (one that could move a processing group's offsets).
    outsider = Consumer({**config, "group.id": f"markets-ops-processing-{uuid.uuid4().hex}"})
    try:
        outsider.subscribe([STACK_CHECKS.name])
        assert _first_error_code(outsider) == KafkaError.GROUP_AUTHORIZATION_FAILED
    finally:
        outsider.close()
