"""The task of the ``ops_events_relay`` DAG, named as it: deliver to Kafka the operations events
that the callbacks stored while Kafka was down (airflow/outbox.py). The only module of the relay
that sees Airflow's connections.
"""

from __future__ import annotations

import logging
from typing import Any

from include.markets_ops.airflow import connections, lineage, outbox
from include.markets_ops.services import kafka, postgres

log = logging.getLogger(__name__)


def relay_events() -> dict[str, Any]:
    """Publish every pending event (as warehouse_writer: it reads the outbox and records
    deliveries); fails, leaving them pending, when Kafka does not acknowledge them in time."""
    config = outbox.bounded_delivery(connections.kafka_config(), outbox.RELAY_DELIVERY_SECONDS)

    def publish(topic: str, messages: list[tuple[str, dict[str, Any]]]) -> int:
        return kafka.publish(config, topic, messages, timeout_seconds=outbox.RELAY_DELIVERY_SECONDS)

    with connections.connect_postgres(
        postgres.WAREHOUSE_CONN_ID, connect_timeout=outbox.CONNECT_TIMEOUT_SECONDS, autocommit=True
    ) as connection:
        report = outbox.relay(connection, publish)
    lineage.report_topics(written=report.topics)
    if report.locked_out:
        log.info("another relay is delivering the pending events: nothing done")
    else:
        log.info("delivered %d pending operations events to %s", report.published, report.topics or "Kafka")
    return report.as_dict()
