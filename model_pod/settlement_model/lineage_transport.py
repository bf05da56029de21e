"""The OpenLineage transport of the whole project: Kafka first, the operations events' outbox
when Kafka does not take an event in time, so a broker outage delays lineage and loses none.

Used by the Airflow provider (tasks, DAG runs: its ``[openlineage] config_conn_id`` names it
with ``"type": "settlement_model.lineage_transport.KafkaWithOutboxTransport"``) and by the model
jobs (settlement_model/lineage.py), so every event travels the same way (docs/lineage.md):

1. produce to the topic and wait for the broker's acknowledgement, at most
   ``delivery_timeout_seconds`` (the producer's message timeout is the same bound);
2. otherwise insert the event into ``events.outbox`` (``outbox_url``: the insert-only
   ``ops_events_writer`` role), which the ``ops_events_relay`` DAG delivers with the same key;
3. otherwise log it whole, at CRITICAL, so it can be sent by hand.

Emitting never raises: lineage must not fail the work it describes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

log = logging.getLogger(__name__)

DEFAULT_DELIVERY_TIMEOUT_SECONDS = 3.0
OUTBOX_CONNECT_TIMEOUT_SECONDS = 3
OUTBOX_STATEMENT_TIMEOUT_MS = 5000


@dataclass
class KafkaWithOutboxConfig(Config):
    topic: str
    config: dict[str, Any] = field(default_factory=dict)  # confluent-kafka settings
    outbox_url: str | None = None  # libpq URL of a role that may insert into events.outbox
    delivery_timeout_seconds: float = DEFAULT_DELIVERY_TIMEOUT_SECONDS

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> KafkaWithOutboxConfig:
        if not params.get("topic"):
            raise ValueError("the lineage transport needs a `topic`")
        return cls(
            topic=params["topic"],
            config=dict(params.get("config") or {}),
            outbox_url=params.get("outbox_url") or None,
            delivery_timeout_seconds=float(
                params.get("delivery_timeout_seconds", DEFAULT_DELIVERY_TIMEOUT_SECONDS)
            ),
        )


def event_key(event: dict[str, Any]) -> str:
    """The event's Kafka key, the same on both paths: its root job (a DAG run's events share
    the prefix and, with it, a partition), then its run, type and time, so that the outbox,
    unique by key, keeps each event once."""
    facets = event.get("run", {}).get("facets", {})
    parent = facets.get("parent") or {}
    root_job = (parent.get("root") or {}).get("job") or parent.get("job") or event["job"]
    return "/".join(
        (
            f"run:{root_job['namespace']}",
            root_job["name"],
            event["run"]["runId"],
            str(event.get("eventType", "OTHER")),
            str(event.get("eventTime", "")),
        )
    )


class KafkaWithOutboxTransport(Transport):
    kind = "kafka_with_outbox"
    config_class = KafkaWithOutboxConfig

    def __init__(self, config: KafkaWithOutboxConfig) -> None:
        self.config = config
        self._producer: Any = None

    def emit(self, event: Any) -> None:
        try:
            payload = json.loads(Serde.to_json(event))
            key = event_key(payload)
        except Exception:
            log.warning("lineage: could not serialise an event; not sent", exc_info=True)
            return
        if self._deliver(key, payload):
            return
        if self._store(key, payload):
            log.warning("lineage event %s kept in the outbox: the ops_events_relay DAG delivers it", key)
            return
        log.critical("LINEAGE EVENT LOST: neither Kafka nor the outbox took %s: %s", key, json.dumps(payload))

    def _deliver(self, key: str, payload: dict[str, Any]) -> bool:
        failures: list[str] = []

        def on_delivery(error: Any, _message: Any) -> None:
            if error is not None:
                failures.append(str(error))

        try:
            producer = self._producer_or_new()
            value = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            producer.produce(self.config.topic, key=key.encode(), value=value, on_delivery=on_delivery)
            unflushed = producer.flush(self.config.delivery_timeout_seconds)
        except Exception:  # a bad setting or a full local queue: the outbox takes it
            log.warning("lineage: Kafka refused event %s", key, exc_info=True)
            return False
        if unflushed or failures:
            log.warning("lineage: Kafka did not acknowledge event %s: %s", key, failures or "timeout")
            return False
        return True

    def _producer_or_new(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            timeout_ms = int(self.config.delivery_timeout_seconds * 1000)
            self._producer = Producer(
                {
                    **self.config.config,
                    "acks": "all",
                    # Not idempotent: its handshake (InitProducerId) cost each new producer 0.5 s
                    # here, and a task's process makes one. A retried send may duplicate an
                    # event; the key names the event, and delivery is at least once anyway.
                    "enable.idempotence": False,
                    "linger.ms": 0,  # one event at a time: nothing to batch
                    # A message not acknowledged by then is failed (not retried forever): the
                    # outbox takes it. Connection setup within the same bound.
                    "message.timeout.ms": timeout_ms,
                    "socket.connection.setup.timeout.ms": timeout_ms,
                }
            )
        return self._producer

    def _store(self, key: str, payload: dict[str, Any]) -> bool:
        if not self.config.outbox_url:
            return False
        try:
            import psycopg
            from psycopg.types.json import Jsonb

            from settlement_model.features import read_sql

            with psycopg.connect(
                self.config.outbox_url,
                connect_timeout=OUTBOX_CONNECT_TIMEOUT_SECONDS,
                autocommit=True,
                options=f"-c statement_timeout={OUTBOX_STATEMENT_TIMEOUT_MS}",
            ) as connection:
                connection.execute(
                    read_sql("store_lineage_event.sql"),
                    {"topic": self.config.topic, "event_key": key, "payload": Jsonb(payload)},
                )
            return True
        except Exception:
            log.error("lineage: the outbox did not take event %s", key, exc_info=True)
            return False

    def close(self, timeout: float = -1) -> bool:
        if self._producer is not None:
            bound = self.config.delivery_timeout_seconds if timeout < 0 else timeout
            return self._producer.flush(bound) == 0
        return True
