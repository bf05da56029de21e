"""Dry runs: compute everything, write nothing outside the run's own preview.

A run triggered with ``{"dry_run": true}``:

- does the same database work as a real run inside one transaction that is always rolled back
  (``rolled_back``): the queries see their own writes (the merge, the replaced rows), so the
  counts are the real run's, and nobody else ever sees them;
- writes what it would have published (report files, alert rows, the upstream files, load
  reports) under its preview prefix ``previews/<dag_id>/<run_id>/`` in the pipelines' bucket,
  and nowhere else (no ``reports/``, ``scores/`` or ``landing/`` object, no Kafka message);
- emits no asset event, so a dry run never triggers the DAGs downstream (``suppress_asset_events``),
  and its publishing tasks end as skipped (``skip_when_dry_run``).

The preview prefix is per run: a dry run cannot overwrite a real output or another preview.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from include.markets_ops.airflow.params import DRY_RUN

PREVIEW_ROOT = "previews/"


def is_dry_run(context: Mapping[str, Any]) -> bool:
    return bool((context.get("params") or {}).get(DRY_RUN))


def preview_prefix(dag_id: str, run_id: str, business_date: dt.date | None = None) -> str:
    """``previews/<dag_id>/<run id made key-safe>/[business_date=D/]``."""
    safe_run = re.sub(r"[^A-Za-z0-9._=-]+", "_", run_id).strip("_")
    if not safe_run or not re.fullmatch(r"[a-z0-9_]+", dag_id):
        raise ValueError(f"no preview prefix for dag {dag_id!r}, run {run_id!r}")
    date_part = f"business_date={business_date.isoformat()}/" if business_date else ""
    return f"{PREVIEW_ROOT}{dag_id}/{safe_run}/{date_part}"


def context_preview_prefix(context: Mapping[str, Any], business_date: dt.date | None = None) -> str:
    ti = context["ti"]
    return preview_prefix(ti.dag_id, ti.run_id, business_date)


@contextmanager
def rolled_back(connection: Any) -> Iterator[Any]:
    """A transaction on a psycopg 3 connection (not in a transaction) that is always rolled back.

    Code inside may open its own ``connection.transaction()`` blocks (they become savepoints)."""
    import psycopg

    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # A savepoint inside an open transaction would leave that transaction to be committed.
        raise RuntimeError("rolled_back() needs a connection that is not in a transaction")
    with connection.transaction():
        yield connection
        raise psycopg.Rollback()


def suppress_asset_events(context: Mapping[str, Any]) -> None:
    """This task instance emits no asset event when it succeeds.

    The task runner builds the events from the task's ``outlets`` at the moment the task
    succeeds (task_runner._handle_current_task_success in Airflow 3.3), so emptying them on the
    running task instance's copy of the task is enough; the DAG's declaration is unchanged."""
    context["ti"].task.outlets = []


def skip_when_dry_run(context: Mapping[str, Any], what: str) -> None:
    """End the task as skipped in a dry run, saying what it would have done."""
    if is_dry_run(context):
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"dry run: {what} is not done (the run's preview is under {PREVIEW_ROOT})")
