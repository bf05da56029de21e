"""The nightly deadline's reference: when the run was queued plus an Airflow Variable's seconds.

Why not ``VariableInterval``: in Airflow 3.3.2 it reads the Variable with ``Variable.get`` inside
the scheduler's run-creation transaction; the metastore backend commits the scheduler's
(thread-local) session, which the scheduler forbids ("UNEXPECTED COMMIT - THIS WILL BREAK HA
LOCKS!"): the lookup fails, run creation fails, and the scheduler process exits (seen on the
local stack with a scheduled run). A missing Variable also made Airflow refuse the run.

This reference reads the Variable through the session the scheduler passes in (no commit), falls
back to a default when it is missing or not a positive integer, and is evaluated once, when the
run is created. It is registered on the Airflow side by plugins/nightly_deadlines.py (custom
deadline references are looked up in plugins when the serialized DAG is read).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow.sdk.definitions.deadline import (
    REFERENCE_TYPE_FIELD,
    BaseDeadlineReference,
    DeadlineReference,
    deadline_reference,
)

log = logging.getLogger(__name__)


def interval_seconds(value: str | None, default_seconds: int) -> int:
    """The Variable's value as a positive number of seconds, else the default."""
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return default_seconds
    return seconds if seconds > 0 else default_seconds


@deadline_reference(DeadlineReference.TYPES.DAGRUN_QUEUED)
@dataclass(frozen=True)
class QueuedAtPlusVariable(BaseDeadlineReference):
    """``queued_at`` of the run + ``Variable[variable]`` seconds (``default_seconds`` if unset)."""

    variable: str = ""
    default_seconds: int = 3600
    required_kwargs: ClassVar[set[str]] = {"dag_id", "run_id"}

    def serialize_reference(self) -> dict[str, Any]:
        return {
            REFERENCE_TYPE_FIELD: self.reference_name,
            "variable": self.variable,
            "default_seconds": self.default_seconds,
        }

    @classmethod
    def deserialize_reference(cls, reference_data: dict[str, Any]) -> QueuedAtPlusVariable:
        return cls(
            variable=reference_data["variable"], default_seconds=int(reference_data["default_seconds"])
        )

    def _evaluate_with(self, *, session: Any, dag_id: str, run_id: str, **_: Any) -> dt.datetime | None:
        """Runs in the scheduler, inside its run-creation transaction: read only, never commit."""
        from airflow.models.dagrun import DagRun
        from airflow.models.variable import Variable
        from sqlalchemy import select

        queued_at = session.scalar(
            select(DagRun.queued_at).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        )
        if queued_at is None:
            return None
        stored = session.scalar(select(Variable).where(Variable.key == self.variable))
        seconds = interval_seconds(stored.val if stored is not None else None, self.default_seconds)
        if stored is None:
            log.warning("Variable %s is not set: deadline of %s is %s s", self.variable, dag_id, seconds)
        return queued_at + dt.timedelta(seconds=seconds)
