"""The broker's security settings and ACLs, as devstack writes them (no broker needed)."""

from __future__ import annotations

from confluent_kafka.admin import AclOperation, ResourcePatternType, ResourceType

from devstack import kafka
from devstack.config import Stack, StackSecrets, secret_names
from include.markets_ops.services.kafka import READ_ONLY_GROUP_PREFIX
from include.markets_ops.services.topics import (
    ALL_TOPICS,
    CUSTODIAN_STATEMENTS,
    HIGH_RISK_TRADES,
    LINEAGE_EVENTS,
    STACK_CHECKS,
)


def properties() -> dict[str, str]:
    stack = Stack(StackSecrets({name: f"value-of-{name}" for name in secret_names()}))
    lines = kafka.server_properties(stack).splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_every_listener_authenticates_and_nothing_is_allowed_without_an_acl() -> None:
    settings = properties()
    assert set(settings["listener.security.protocol.map"].split(",")) == {
        "CLIENT:SASL_PLAINTEXT",
        "BROKER:SASL_PLAINTEXT",
        "CONTROLLER:SASL_PLAINTEXT",
    }
    assert all(
        listener.split("://")[1].startswith("127.0.0.1:") for listener in settings["listeners"].split(",")
    )
    assert settings["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert settings["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert settings["super.users"] == "User:broker;User:admin"
    # The admin may log in on the broker's own listener only, not on the controller's.
    assert (
        'user_admin="value-of-kafka_admin_password"'
        in settings["listener.name.broker.plain.sasl.jaas.config"]
    )
    assert "user_admin" not in settings["listener.name.controller.plain.sasl.jaas.config"]


def test_each_producer_writes_its_own_topics_and_the_reader_reads_each_topic_nothing_more() -> None:
    rights = {
        (b.principal, b.restype, b.name, b.operation, b.resource_pattern_type)
        for b in kafka.acl_bindings(ALL_TOPICS)
    }
    topic, literal = ResourceType.TOPIC, ResourcePatternType.LITERAL
    writers = {t.name: set() for t in ALL_TOPICS}
    for principal, _, name, op, _ in rights:
        if op == AclOperation.WRITE:
            writers[name].add(principal.removeprefix("User:"))
    assert writers == {
        t.name: {"pipelines"}
        for t in ALL_TOPICS
        if t.name not in {HIGH_RISK_TRADES.name, CUSTODIAN_STATEMENTS.name, LINEAGE_EVENTS.name}
    } | {
        HIGH_RISK_TRADES.name: {"scoring"},
        CUSTODIAN_STATEMENTS.name: {"custodians"},
        LINEAGE_EVENTS.name: {"lineage", "pipelines"},  # the pipelines relay what the outbox kept
    }
    for t in ALL_TOPICS:
        assert ("User:reader", topic, t.name, AclOperation.READ, literal) in rights
        assert ("User:reader", topic, t.name, AclOperation.WRITE, literal) not in rights
    reads = {
        name
        for principal, kind, name, op, _ in rights
        if principal == "User:pipelines" and op == AclOperation.READ
    }
    assert reads == {STACK_CHECKS.name, READ_ONLY_GROUP_PREFIX}  # its own round trip only
    groups = {(p, name, pattern) for p, kind, name, _, pattern in rights if kind == ResourceType.GROUP}
    assert groups == {
        ("User:pipelines", READ_ONLY_GROUP_PREFIX, ResourcePatternType.PREFIXED),
        ("User:reader", READ_ONLY_GROUP_PREFIX, ResourcePatternType.PREFIXED),
        # The triggerer's watchers consume as the reader, committing in groups of their own.
        ("User:reader", kafka.WATCHER_GROUP_PREFIX, ResourcePatternType.PREFIXED),
    }
    assert all(op != AclOperation.ALL and kind != ResourceType.BROKER for _, kind, _, op, _ in rights)
    for user, owned in (("scoring", HIGH_RISK_TRADES), ("custodians", CUSTODIAN_STATEMENTS)):
        assert {(kind, name, op) for p, kind, name, op, _ in rights if p == f"User:{user}"} == {
            (topic, owned.name, AclOperation.WRITE),
            (topic, owned.name, AclOperation.DESCRIBE),
        }
    # The lineage transport's user writes (and describes) the lineage topic, nothing else.
    assert {(kind, name, op) for p, kind, name, op, _ in rights if p == "User:lineage"} == {
        (topic, LINEAGE_EVENTS.name, AclOperation.WRITE),
        (topic, LINEAGE_EVENTS.name, AclOperation.DESCRIBE),
    }
