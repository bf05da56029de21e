"""The project's Kafka topics on the stack's real broker: the latest-state topics are compacted,
the event topics are not, and ensure_topics (devstack/kafka.py, run by `make up`) creates a topic
with its declared configs and brings an existing topic with other configs in line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from devstack import kafka
from devstack.stack_env import kafka_client_of
from include.markets_ops.services import topics
from include.markets_ops.services.topics import COMPACTED, Topic


@pytest.fixture(scope="module")
def admin(stack: dict[str, str]) -> AdminClient:
    return AdminClient(kafka_client_of(stack, "admin"))


def cleanup_policies(admin: AdminClient, names: list[str]) -> dict[str, str]:
    return {name: config["cleanup.policy"] for name, config in kafka.topic_configs(admin, names).items()}


def test_the_latest_state_topics_are_compacted_and_the_event_topics_are_not(admin: AdminClient) -> None:
    compacted = {
        topics.HIGH_RISK_TRADES.name,
        topics.OPS_ALERTS.name,
        topics.RECON_SUMMARY.name,
        topics.CUSTODIAN_STATEMENTS.name,
    }
    assert {t.name for t in topics.ALL_TOPICS if t.config == COMPACTED} == compacted
    policies = cleanup_policies(admin, [t.name for t in topics.ALL_TOPICS])
    assert policies == {t.name: "compact" if t.name in compacted else "delete" for t in topics.ALL_TOPICS}


@pytest.fixture
def scratch_topic(admin: AdminClient) -> Iterator[Topic]:
    topic = Topic(f"pytest.compacted.{uuid.uuid4().hex[:8]}", 1, "a scratch latest-state topic", COMPACTED)
    yield topic
    for future in admin.delete_topics([topic.name], operation_timeout=30).values():
        future.result()


def _set_policy(admin: AdminClient, name: str, policy: str) -> None:
    entry = ConfigEntry("cleanup.policy", policy, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def test_ensure_topics_creates_with_the_declared_config_and_converges_an_existing_topic(
    admin: AdminClient, stack: dict[str, str], scratch_topic: Topic
) -> None:
    broker: Any = SimpleNamespace(kafka_client=lambda user: kafka_client_of(stack, user))
    kafka.ensure_topics(broker, [scratch_topic])
    assert cleanup_policies(admin, [scratch_topic.name]) == {scratch_topic.name: "compact"}

    # A topic made before its config was declared (or changed by hand) is altered back...
    _set_policy(admin, scratch_topic.name, "delete")
    assert cleanup_policies(admin, [scratch_topic.name]) == {scratch_topic.name: "delete"}
    kafka.ensure_topics(broker, [scratch_topic])
    assert cleanup_policies(admin, [scratch_topic.name]) == {scratch_topic.name: "compact"}
    # ...and a second run changes nothing (no error either).
    kafka.ensure_topics(broker, [scratch_topic])
    assert cleanup_policies(admin, [scratch_topic.name]) == {scratch_topic.name: "compact"}
    metadata = admin.list_topics(scratch_topic.name, timeout=10).topics[scratch_topic.name]
    assert list(metadata.partitions) == [0]  # created as declared: one partition
