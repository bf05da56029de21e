"""Every Kafka topic the project produces to, declared once.

The local stack creates these (``make up``); production topics are provisioned from the
same list. Keys are always set, so the partition count bounds the consumers' parallelism.

Two kinds of topic:
- latest-state topics, compacted: the key names the thing whose latest state the value holds
  (a trade, an alert's rule and entity, a business date). A rerun republishes the same keys with
  the same values; the log holds both copies until the log cleaner compacts it, then the latest
  per key. Consumers dedupe by key (compaction is eventual and never touches the active segment).
- event topics, deleted after the retention period: every message is an event of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

COMPACTED: Mapping[str, str] = {"cleanup.policy": "compact"}


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    description: str
    # Topic-level configs the topic is created with (and an existing topic altered to).
    config: Mapping[str, str] = field(default_factory=dict, hash=False)


# Key: trade id (model_pod/settlement_model/score_job.py): the trade's latest high-risk score.
HIGH_RISK_TRADES = Topic(
    "settlement-risk.high",
    6,
    "Pending trades the model scores above the high-risk threshold",
    COMPACTED,
)
MODEL_EVENTS = Topic("mlops.model-events", 1, "Promotion gate decisions and champion rollbacks")
# Key: rule id and entity key (alerting/night.py alert_messages): the condition's latest raising.
OPS_ALERTS = Topic("ops.alerts", 3, "New alerts raised by the SQL alert rules", COMPACTED)
# Key: business date (reconciliation/tasks.py): the date's latest reconciliation summary.
RECON_SUMMARY = Topic("ops.recon.summary", 1, "Nightly reconciliation summary per business date", COMPACTED)
# Key: dag id and run id (the provider's state events), then task or deadline for the project's
# own (airflow/callbacks.py): every event of a run shares the key's prefix. docs/events.md.
AIRFLOW_EVENTS = Topic(
    "ops.airflow.events", 1, "DAG run and task state changes, task failures and missed deadlines of the DAGs"
)
# Key: custodian code and business date (statements/messages.py): the custodian's statement of
# that date is ready in the landing area. Written by the custodians (here, the simulated ones:
# statements/upstream.py), read by the custodian_statements DAG's watcher. One partition: the
# statements of a night are a handful, and one partition keeps them in the order they came.
CUSTODIAN_STATEMENTS = Topic(
    "ops.custodian.statements",
    1,
    "Custodian statement-ready announcements, per custodian and date",
    COMPACTED,
)
# Key: the run's root job (the DAG), so a DAG run's events stay in order (OpenLineage's Kafka
# transport). Written by the Airflow tasks and the model jobs as the lineage user, read by a
# lineage backend (Marquez, DataHub) or the tests (docs/lineage.md). Kept 7 days, not compacted:
# every event of a run shares its key.
LINEAGE_EVENTS = Topic("openlineage.events", 1, "OpenLineage run events of every task and model job")
STACK_CHECKS = Topic("ops.stack.checks", 1, "Round trips of the stack smoke DAG and tests")

ALL_TOPICS: tuple[Topic, ...] = (
    HIGH_RISK_TRADES,
    MODEL_EVENTS,
    OPS_ALERTS,
    RECON_SUMMARY,
    AIRFLOW_EVENTS,
    CUSTODIAN_STATEMENTS,
    LINEAGE_EVENTS,
    STACK_CHECKS,
)
