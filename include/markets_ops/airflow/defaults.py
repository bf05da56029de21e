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
    EVENT_DRIVEN = "event-driven"


class Owner(StrEnum):
    MLOPS = "mlops"
    DATA_PLATFORM = "data-platform"
    OPS_REPORTING = "ops-reporting"


def deadline_variable(dag_id: str) -> str:
    """The Airflow Variable holding a nightly DAG's deadline, in seconds (airflow_settings.yaml)."""
    return f"{dag_id}_deadline_seconds"


# Used when the deadline Variable is missing or invalid (airflow_settings.yaml declares them).
DEFAULT_DEADLINE_SECONDS = 2 * 3600


def nightly_deadline(dag_id: str) -> Any:
    """The DAG's ``deadline``: a run must finish within ``<dag_id>_deadline_seconds`` (Variable,
    default DEFAULT_DEADLINE_SECONDS) of being queued, or a ``deadline_missed`` event goes to Kafka
    ``ops.airflow.events``.

    Measured from when the run is queued, not from its logical date: asset-triggered and
    REST-triggered runs have no logical date (the deadline would be skipped), and a backfilled
    date's logical date is long past (every backfill run would be "late" at once). The Variable
    is read when each run is created, never at parse time (deadlines.QueuedAtPlusVariable, which
    also says why not VariableInterval)."""
    import datetime as dt

    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert

    from include.markets_ops.airflow.callbacks import on_deadline_missed
    from include.markets_ops.airflow.deadlines import QueuedAtPlusVariable

    return DeadlineAlert(
        reference=QueuedAtPlusVariable(deadline_variable(dag_id), DEFAULT_DEADLINE_SECONDS),
        interval=dt.timedelta(0),  # all in the reference: the Variable is read at run creation
        callback=AsyncCallback(on_deadline_missed, kwargs={"deadline_name": QUEUED_DEADLINE_NAME}),
        name=f"{dag_id} finished in time",
    )


QUEUED_DEADLINE_NAME = "finished_within_seconds_of_queued"
CUTOFF_DEADLINE_NAME = "nightly_cutoff"
# The Airflow Variable holding the nightly cutoff (airflow_settings.yaml), "HH:MM" local time.
CUTOFF_VARIABLE = "nightly_pipeline_cutoff"


def nightly_cutoff() -> Any:
    """A ``deadline`` for the DAGs at the end of the nightly chain: the run for business date D
    must finish by D at ``nightly_pipeline_cutoff`` (Variable, "HH:MM" in the operations
    calendar's timezone, default deadlines.DEFAULT_CUTOFF), or a ``deadline_missed`` event goes
    to Kafka ``ops.airflow.events``. Backfills never get it, nor do manual or asset-triggered runs created
    after their date's cutoff (reruns of old dates); see deadlines.run_cutoff."""
    import datetime as dt

    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert

    from include.markets_ops import calendars
    from include.markets_ops.airflow.callbacks import on_deadline_missed
    from include.markets_ops.airflow.deadlines import DEFAULT_CUTOFF, NightlyCutoff

    return DeadlineAlert(
        reference=NightlyCutoff(
            CUTOFF_VARIABLE, DEFAULT_CUTOFF, calendars.OPERATIONS_TIMEZONE, calendars.OPERATIONS_CALENDAR
        ),
        interval=dt.timedelta(0),
        callback=AsyncCallback(on_deadline_missed, kwargs={"deadline_name": CUTOFF_DEADLINE_NAME}),
        name="nightly pipeline finished by the cutoff",
    )


def default_args(owner: Owner, retries: int = 2) -> dict[str, Any]:
    """Retries by cause (retries.RetryByCause): bad input fails at once, transient
    infrastructure errors and unknown ones retry with exponential backoff. A task that fails
    for good publishes an event to Kafka."""
    from include.markets_ops.airflow.callbacks import on_task_failure
    from include.markets_ops.airflow.retries import RETRY_BY_CAUSE

    return {
        "owner": owner.value,
        "retries": retries,
        "retry_policy": RETRY_BY_CAUSE,
        # A try against a hung service fails within 90 s (settlement_model.timeouts); the next
        # waits 30-60 s, the one after 60-120 s (Airflow adds up to the same again as jitter),
        # so a service down for good fails the run about 5-7 minutes after the fault, and one
        # back within a couple of minutes is retried past.
        "retry_delay": timedelta(seconds=30),
        # Airflow 3 takes a multiplier (2.0 doubles each delay); True, the Airflow 2 spelling,
        # is only converted to 2.0 when the serialized DAG is read back (1, no backoff, as
        # a float before that).
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": on_task_failure,
    }
