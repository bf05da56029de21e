"""Defaults every DAG of the project shares: owners, tags, retries.

Tags come from one place so the UI's tag filter stays a short, known list.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any


class Tag(StrEnum):
    NIGHTLY = "nightly"
    ML = "ml"
    REPORTING = "reporting"
    RECONCILIATION = "reconciliation"
    ALERTING = "alerting"
    UPSTREAM_FEED = "upstream-feed"
    PLATFORM = "platform"


class Owner(StrEnum):
    MLOPS = "mlops"
    DATA_PLATFORM = "data-platform"
    OPS_REPORTING = "ops-reporting"


def default_args(owner: Owner, retries: int = 2) -> dict[str, Any]:
    """Retries with exponential backoff: the failures a retry helps with are transient
    (a service restarting, a lock timeout); bad input fails fast through AirflowFailException,
    which skips the retries. A task that fails for good publishes an event to Kafka."""
    from include.markets_ops.callbacks import on_task_failure

    return {
        "owner": owner.value,
        "retries": retries,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": on_task_failure,
    }
