"""The nightly schedule switch: one Airflow Variable that stops the automatic runs.

Scheduled and asset-triggered runs of the nightly DAGs start with a ``nightly_switch`` task.
When the Variable ``nightly_schedule_enabled`` is ``false`` that task short-circuits the run
(every other task is skipped, the run succeeds and writes nothing); manual runs and backfills
always proceed. Operations turn it off for a maintenance window or a data freeze without
pausing every DAG (pausing also stops the manual reruns they still want), and the integration
tests turn it off so that unpausing a DAG to trigger it for a test date does not also start
tonight's scheduled run on the shared stack.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context, task

SWITCH_VARIABLE = "nightly_schedule_enabled"
AUTOMATIC_RUN_TYPES = frozenset({"scheduled", "asset_triggered"})

log = logging.getLogger(__name__)


def run_allowed(run_type: str, switch_value: str | None) -> bool:
    """Whether a run of ``run_type`` proceeds when the switch Variable holds ``switch_value``
    (missing means on: a fresh deployment runs its schedule)."""
    if run_type not in AUTOMATIC_RUN_TYPES:
        return True
    return (switch_value or "true").strip().lower() not in {"false", "0", "off", "no"}


def _run_type(context: Any) -> str:
    run_type = context["dag_run"].run_type
    return str(getattr(run_type, "value", run_type))


@task.short_circuit(task_id="nightly_switch", ignore_downstream_trigger_rules=True)
def nightly_switch() -> bool:
    """Short-circuits an automatic run while the nightly schedule is switched off."""
    from airflow.sdk import Variable

    context = get_current_context()
    run_type = _run_type(context)
    switch_value = Variable.get(SWITCH_VARIABLE, default=None)
    allowed = run_allowed(run_type, switch_value)
    if not allowed:
        log.warning(
            "%s run skipped: Variable %s is %r; manual runs and backfills still run "
            "(set it to true to resume the schedule)",
            run_type,
            SWITCH_VARIABLE,
            switch_value,
        )
    return allowed
