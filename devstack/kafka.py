"""Apache Kafka 4.x in KRaft combined mode (broker + controller), from Maven Central jars."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from typing import Any

from devstack.config import CACHE_DIR, HOST, REPO, VAR, Stack
from devstack.process import (
    StackError,
    port_is_free,
    recorded_pid,
    start_detached,
    stop_group,
    wait_until,
    write_private,
)
from include.markets_ops.services.kafka import READ_ONLY_GROUP_PREFIX
from include.markets_ops.services.topics import (
    ALL_TOPICS,
    CUSTODIAN_STATEMENTS,
    HIGH_RISK_TRADES,
    LINEAGE_EVENTS,
    STACK_CHECKS,
    Topic,
)

NAME = "kafka"
LIBS_DIR = CACHE_DIR / "kafka" / "libs"
DATA_DIR = VAR / "kafka" / "data"
CONFIG_FILE = VAR / "kafka" / "server.properties"
LOG4J_CONFIG = REPO / "devstack" / "kafka" / "log4j2.yaml"
HEAP = "-Xms512m -Xmx512m"  # below ~512 MB the log cleaner has failed to start here


# The stack's Kafka users on the clients' listener (SASL/SCRAM-SHA-512) and what each may do.
# The broker itself and ``admin`` (topics, ACLs, SCRAM users: this module) are super users on
# the broker's own listener (SASL/PLAIN); no one else is let in, and no ACL means no access.
# Each producer writes only its own topics.
PIPELINES_USER = "pipelines"  # the Airflow tasks and callbacks: the topics no one below owns
SCORING_USER = "scoring"  # the scoring job (a pod or a local process): the high-risk trades only
CUSTODIANS_USER = "custodians"  # the custodians (here simulated): their statements' announcements
LINEAGE_USER = "lineage"  # OpenLineage's transport (tasks and model jobs): the lineage topic
READER_USER = "reader"  # the dashboard, the demo's summary, operators and tests: read them all
KAFKA_USERS = (PIPELINES_USER, SCORING_USER, CUSTODIANS_USER, LINEAGE_USER, READER_USER)
# The topics a producer other than the pipelines owns. The events relay (a pipelines task)
# also delivers the lineage events the outbox kept while Kafka was down.
OWNED_TOPICS = {
    HIGH_RISK_TRADES.name: (SCORING_USER,),
    CUSTODIAN_STATEMENTS.name: (CUSTODIANS_USER,),
    LINEAGE_EVENTS.name: (LINEAGE_USER, PIPELINES_USER),
}
SUPER_USERS = ("broker", "admin")
WATCHER_GROUP_PREFIX = "markets-ops-watchers."
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192


def _plain_jaas(users: dict[str, str], login: tuple[str, str]) -> str:
    """A PLAIN login module's configuration: the listener's users and the broker's own login."""
    accounts = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{login[0]}" password="{login[1]}" {accounts};'
    )


def server_properties(stack: Stack) -> str:
    client, controller = stack.ports["kafka"], stack.ports["kafka_controller"]
    broker_port = stack.ports["kafka_broker"]
    broker = ("broker", stack.secrets["kafka_broker_password"])
    admin = {"admin": stack.secrets["kafka_admin_password"]}
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller}",
        # CLIENT: the applications, SCRAM users with ACLs. BROKER: the broker's own traffic and
        # the stack's admin. CONTROLLER: KRaft (PLAIN: SCRAM lives in the metadata it serves).
        "listeners": f"CLIENT://{HOST}:{client},CONTROLLER://{HOST}:{controller},BROKER://{HOST}:{broker_port}",
        "advertised.listeners": f"CLIENT://{HOST}:{client},BROKER://{HOST}:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "BROKER",
        "listener.security.protocol.map": ",".join(
            f"{listener}:SASL_PLAINTEXT" for listener in ("CLIENT", "BROKER", "CONTROLLER")
        ),
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.client.sasl.enabled.mechanisms": SCRAM_MECHANISM,
        "listener.name.client.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "listener.name.broker.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.broker.plain.sasl.jaas.config": _plain_jaas({broker[0]: broker[1], **admin}, broker),
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": _plain_jaas({broker[0]: broker[1]}, broker),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": ";".join(f"User:{name}" for name in SUPER_USERS),
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(DATA_DIR),
        # One broker: every internal topic has a single replica.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Topics are declared in include/markets_ops/services/topics.py; a typo must not create one.
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _java_argv(main_class: str, *args: str) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise StackError("java is not installed; run `make install` (Kafka needs Java 17).")
    if not any(LIBS_DIR.glob("kafka_2.13-*.jar")):
        raise StackError(f"the Kafka jars are missing from {LIBS_DIR}; run `make install`.")
    return [
        java,
        *HEAP.split(),
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={VAR / 'kafka' / 'logs'}",
        "-cp",
        f"{LIBS_DIR}/*",
        main_class,
        *args,
    ]


def _format_storage() -> None:
    if (DATA_DIR / "meta.properties").exists():
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    cluster_id = _cluster_id()
    argv = _java_argv(
        "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(CONFIG_FILE), "--standalone"
    )
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"kafka storage format failed:\n{result.stdout}\n{result.stderr}")


def _cluster_id() -> str:
    """A base64url-encoded UUID, as `StorageTool random-uuid` prints. One starting with "-"
    would be read as a command-line flag by the storage tool: draw again."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def start(stack: Stack) -> None:
    if recorded_pid(NAME):
        ensure_users(stack)
        ensure_topics(stack)
        return
    CONFIG_FILE.parent.mkdir(parents=True, exist_ok=True)
    write_private(CONFIG_FILE, server_properties(stack))  # it holds the broker's passwords
    _format_storage()
    pid = start_detached(NAME, _java_argv("kafka.Kafka", str(CONFIG_FILE)), env=dict(os.environ))
    wait_until(NAME, lambda: _broker_answers(stack), timeout=90, pid=pid)
    ensure_users(stack)
    ensure_topics(stack)


def stop() -> bool:
    return stop_group(NAME, timeout=60)


def _broker_answers(stack: Stack) -> bool:
    from confluent_kafka.admin import AdminClient

    if port_is_free(stack.ports["kafka"]):
        return False  # not listening yet: don't let librdkafka log a refused connection
    admin = AdminClient(stack.kafka_client("admin"))
    metadata = admin.list_topics(timeout=3)
    return bool(metadata.brokers)


def ensure_topics(stack: Stack, topics: Sequence[Topic] = ALL_TOPICS) -> None:
    """Create the project's topics that do not exist yet, with their declared configs; alter an
    existing topic whose declared configs differ (a stack made before a config was declared
    converges). Idempotent: a second call changes nothing."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(stack.kafka_client("admin"))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(t.name, num_partitions=t.partitions, replication_factor=1, config=dict(t.config))
        for t in topics
        if t.name not in existing
    ]
    if wanted:
        for topic, future in admin.create_topics(wanted, operation_timeout=30).items():
            try:
                future.result()
            except Exception as error:
                if "TOPIC_ALREADY_EXISTS" not in str(error):
                    raise StackError(f"could not create Kafka topic {topic}: {error}") from error
    _align_topic_configs(admin, [t for t in topics if t.name in existing and t.config])
    ensure_acls(admin, topics)
    revoke_stale_acls(admin, topics)


def topic_configs(admin: Any, names: list[str]) -> dict[str, dict[str, str]]:
    """The current configs of the topics ``names``, by topic (what describe_configs reports)."""
    from confluent_kafka.admin import ConfigResource, ResourceType

    if not names:
        return {}
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in names])
    return {
        resource.name: {key: entry.value for key, entry in future.result(timeout=30).items()}
        for resource, future in futures.items()
    }


def _align_topic_configs(admin: Any, topics: list[Topic]) -> None:
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

    current = topic_configs(admin, [t.name for t in topics])
    changes = []
    for topic in topics:
        differing = {k: v for k, v in topic.config.items() if current[topic.name].get(k) != v}
        if differing:
            entries = [
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in differing.items()
            ]
            changes.append(ConfigResource(ResourceType.TOPIC, topic.name, incremental_configs=entries))
    if not changes:
        return
    for resource, future in admin.incremental_alter_configs(changes).items():
        try:
            future.result(timeout=30)
        except Exception as error:
            raise StackError(
                f"could not alter the configs of Kafka topic {resource.name}: {error}"
            ) from error


def ensure_users(stack: Stack) -> None:
    """Create or update the SCRAM credentials of KAFKA_USERS from this checkout's secrets
    (an upsert: a second call changes nothing a client would notice)."""
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialAlteration,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient(stack.kafka_client("admin"))
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, stack.secrets[f"kafka_{user}_password"].encode())
        for user in KAFKA_USERS
    ]
    for user, future in admin.alter_user_scram_credentials(upserts, request_timeout=30).items():
        try:
            future.result()
        except Exception as error:
            raise StackError(f"could not set the Kafka credentials of {user!r}: {error}") from error


def acl_bindings(topics: Sequence[Topic], writers: Sequence[str] | None = None) -> list[Any]:
    """Least privilege on the clients' listener: each topic is written by its producers
    (``writers``, else OWNED_TOPICS, else the pipelines) and read by the reader; the pipelines
    read back the stack check's round trip only; the pipelines and the reader consume only in
    read-back groups."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType
    from confluent_kafka.admin import ResourceType as Resource

    def allow(user: str, resource: Any, name: str, operation: Any, pattern: Any) -> Any:
        return AclBinding(resource, name, pattern, f"User:{user}", "*", operation, AclPermissionType.ALLOW)

    def producers(topic: Topic) -> Sequence[str]:
        return writers or OWNED_TOPICS.get(topic.name, (PIPELINES_USER,))

    literal, prefixed = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
    write, describe, read = AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.READ
    rights = [
        *((user, t.name, op) for t in topics for user in producers(t) for op in (write, describe)),
        *((READER_USER, t.name, op) for t in topics for op in (read, describe)),
        *((PIPELINES_USER, t.name, read) for t in topics if t.name == STACK_CHECKS.name),
    ]
    bindings = [allow(user, Resource.TOPIC, name, op, literal) for user, name, op in rights]
    groups = [
        allow(u, Resource.GROUP, READ_ONLY_GROUP_PREFIX, AclOperation.READ, prefixed)
        for u in (PIPELINES_USER, READER_USER)
    ]
    # The triggerer's watchers (include/markets_ops/airflow/watchers.py) consume as the reader
    # in groups of their own, whose offsets they commit.
    groups.append(allow(READER_USER, Resource.GROUP, WATCHER_GROUP_PREFIX, AclOperation.READ, prefixed))
    return bindings + groups


def ensure_acls(admin: Any, topics: Sequence[Topic], writers: Sequence[str] | None = None) -> None:
    """Create the ACLs of acl_bindings (creating one that exists is a no-op for Kafka)."""
    for binding, future in admin.create_acls(acl_bindings(topics, writers), request_timeout=30).items():
        try:
            future.result()
        except Exception as error:
            raise StackError(f"could not create the Kafka ACL {binding}: {error}") from error


def revoke_stale_acls(admin: Any, topics: Sequence[Topic]) -> None:
    """Delete the ACLs on ``topics`` that acl_bindings no longer grants (a right an earlier
    version of this module gave stays otherwise: creating ACLs never removes one)."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    wanted = set(acl_bindings(topics))
    names = {t.name for t in topics}
    any_value: Any = None  # a filter's None matches any name, principal or host (typed str)
    every_topic_acl = AclBindingFilter(
        ResourceType.TOPIC,
        any_value,
        ResourcePatternType.LITERAL,
        any_value,
        any_value,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    existing = admin.describe_acls(every_topic_acl, request_timeout=30).result()
    stale = [
        AclBindingFilter(
            b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
        )
        for b in existing
        if b.name in names and b not in wanted
    ]
    if not stale:
        return
    for binding, future in admin.delete_acls(stale, request_timeout=30).items():
        try:
            future.result()
        except Exception as error:
            raise StackError(f"could not delete the stale Kafka ACL {binding}: {error}") from error
