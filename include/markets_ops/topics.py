"""Every Kafka topic the project produces to, declared once.

The local stack creates these (``make up``); production topics are provisioned from the
same list. Keys are always set, so the partition count bounds the consumers' parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    description: str


HIGH_RISK_TRADES = Topic(
    "settlement-risk.high", 6, "Pending trades the model scores above the high-risk threshold"
)
MODEL_EVENTS = Topic("mlops.model-events", 1, "Promotion gate decisions and champion rollbacks")
OPS_ALERTS = Topic("ops.alerts", 3, "New alerts raised by the SQL alert rules")
RECON_SUMMARY = Topic("ops.recon.summary", 1, "Nightly reconciliation summary per business date")
AIRFLOW_EVENTS = Topic("ops.airflow.events", 1, "Task failures and missed deadlines of the DAGs")
STACK_CHECKS = Topic("ops.stack.checks", 1, "Round trips of the stack smoke DAG and tests")

ALL_TOPICS: tuple[Topic, ...] = (
    HIGH_RISK_TRADES,
    MODEL_EVENTS,
    OPS_ALERTS,
    RECON_SUMMARY,
    AIRFLOW_EVENTS,
    STACK_CHECKS,
)
