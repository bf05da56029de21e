"""Apache Kafka 4.x in KRaft combined mode (broker + controller), from Maven Central jars."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from typing import Any

from devstack.config import CACHE_DIR, HOST, REPO, VAR, Stack
from devstack.process import StackError, port_is_free, recorded_pid, start_detached, stop_group, wait_until
from include.markets_ops.services.topics import ALL_TOPICS, Topic

NAME = "kafka"
LIBS_DIR = CACHE_DIR / "kafka" / "libs"
DATA_DIR = VAR / "kafka" / "data"
CONFIG_FILE = VAR / "kafka" / "server.properties"
LOG4J_CONFIG = REPO / "devstack" / "kafka" / "log4j2.yaml"
HEAP = "-Xms512m -Xmx512m"  # below ~512 MB the log cleaner has failed to start here


def server_properties(stack: Stack) -> str:
    broker, controller = stack.ports["kafka"], stack.ports["kafka_controller"]
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller}",
        "listeners": f"PLAINTEXT://{HOST}:{broker},CONTROLLER://{HOST}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{broker}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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
        ensure_topics(stack)
        return
    CONFIG_FILE.parent.mkdir(parents=True, exist_ok=True)
    CONFIG_FILE.write_text(server_properties(stack))
    _format_storage()
    pid = start_detached(NAME, _java_argv("kafka.Kafka", str(CONFIG_FILE)), env=dict(os.environ))
    wait_until(NAME, lambda: _broker_answers(stack), timeout=90, pid=pid)
    ensure_topics(stack)


def stop() -> bool:
    return stop_group(NAME, timeout=60)


def _broker_answers(stack: Stack) -> bool:
    from confluent_kafka.admin import AdminClient

    if port_is_free(stack.ports["kafka"]):
        return False  # not listening yet: don't let librdkafka log a refused connection
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    metadata = admin.list_topics(timeout=3)
    return bool(metadata.brokers)


def ensure_topics(stack: Stack, topics: Sequence[Topic] = ALL_TOPICS) -> None:
    """Create the project's topics that do not exist yet, with their declared configs; alter an
    existing topic whose declared configs differ (a stack made before a config was declared
    converges). Idempotent: a second call changes nothing."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
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
