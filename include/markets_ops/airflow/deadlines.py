"""The nightly deadlines' references: when the run was queued plus an Airflow Variable's seconds
(QueuedAtPlusVariable), and the business date's wall-clock cutoff (NightlyCutoff, at the end).

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
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from airflow.sdk.definitions.deadline import (
    REFERENCE_TYPE_FIELD,
    BaseDeadlineReference,
    DeadlineReference,
    deadline_reference,
)

from include.markets_ops.calendars import OPERATIONS_CALENDAR, OPERATIONS_TIMEZONE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _FieldsReference(BaseDeadlineReference):
    """Serializes a dataclass reference as its fields (plus the reference's name), so each
    reference only declares its fields."""

    def serialize_reference(self) -> dict[str, Any]:
        return {REFERENCE_TYPE_FIELD: self.reference_name, **asdict(self)}

    @classmethod
    def deserialize_reference(cls, reference_data: dict[str, Any]) -> Any:
        return cls(**{field.name: reference_data[field.name] for field in fields(cls)})


def _variable_value(session: Any, key: str) -> str | None:
    """A Variable's value read through the caller's session (never committed: see above)."""
    from airflow.models.variable import Variable
    from sqlalchemy import select

    stored = session.scalar(select(Variable).where(Variable.key == key))
    return stored.val if stored is not None else None


def interval_seconds(value: str | None, default_seconds: int) -> int:
    """The Variable's value as a positive number of seconds, else the default."""
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return default_seconds
    return seconds if seconds > 0 else default_seconds


@deadline_reference(DeadlineReference.TYPES.DAGRUN_QUEUED)
@dataclass(frozen=True)
class QueuedAtPlusVariable(_FieldsReference):
    """``queued_at`` of the run + ``Variable[variable]`` seconds (``default_seconds`` if unset)."""

    variable: str = ""
    default_seconds: int = 3600
    required_kwargs: ClassVar[set[str]] = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session: Any, dag_id: str, run_id: str, **_: Any) -> dt.datetime | None:
        """Runs in the scheduler, inside its run-creation transaction: read only, never commit."""
        from airflow.models.dagrun import DagRun
        from sqlalchemy import select

        queued_at = session.scalar(
            select(DagRun.queued_at).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        )
        if queued_at is None:
            return None
        value = _variable_value(session, self.variable)
        seconds = interval_seconds(value, self.default_seconds)
        if value is None:
            log.warning("Variable %s is not set: deadline of %s is %s s", self.variable, dag_id, seconds)
        return queued_at + dt.timedelta(seconds=seconds)


# --- The nightly cutoff: a wall-clock time the night's pipeline must have finished by ---------

# "HH:MM" or "HH:MM:SS" after local midnight of the business date; hours up to 47, so "26:00"
# is 02:00 on the next calendar day (a railway-timetable convention: no "which day" ambiguity).
_CUTOFF_PATTERN = r"^\s*(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*$"
MAX_CUTOFF = dt.timedelta(hours=48)

# 23:30 New York: the feed runs at 18:30, scoring and reconciliation follow it (their safety-net
# runs at 20:30) and the alerts come last (safety net 21:30), so even the safety-net path has
# two hours; 23:30 New York is 04:30 in London, before the European operations desks start on
# the overnight reports.
DEFAULT_CUTOFF = "23:30"

# Run types (airflow.utils.types.DagRunType values; plain strings so this stays importable
# without Airflow's core). A backfill never gets the cutoff: its dates' cutoffs are long past.
SCHEDULED_RUN = "scheduled"
BACKFILL_RUN = "backfill"


def cutoff_offset(value: str | None, default: str) -> dt.timedelta:
    """The Variable's cutoff as a time after local midnight of the business date, else the
    default's (itself validated: a bad default in a DAG file fails at parse time)."""
    parsed = _parse_cutoff(value)
    if parsed is not None:
        return parsed
    fallback = _parse_cutoff(default)
    if fallback is None:
        raise ValueError(f"default cutoff must be HH:MM or HH:MM:SS before 48:00, got {default!r}")
    return fallback


def _parse_cutoff(value: str | None) -> dt.timedelta | None:
    match = re.match(_CUTOFF_PATTERN, str(value)) if value is not None else None
    if match is None:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    offset = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return offset if offset < MAX_CUTOFF else None


def cutoff_instant(business_date: dt.date, offset: dt.timedelta, timezone: str) -> dt.datetime:
    """The wall-clock time ``offset`` after midnight of ``business_date`` in ``timezone``, in UTC.

    Wall clock, not elapsed time: "23:30" is 23:30 local on DST-change days too."""
    from zoneinfo import ZoneInfo

    days, seconds = divmod(int(offset.total_seconds()), 86400)
    local_day = business_date + dt.timedelta(days=days)
    local = dt.datetime.combine(local_day, dt.time()) + dt.timedelta(seconds=seconds)
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def run_cutoff(run_type: str, cutoff: dt.datetime, created_at: dt.datetime) -> dt.datetime | None:
    """The deadline a run gets from its business date's cutoff, or None for no deadline.

    - A backfill: none (the cutoffs of past dates are long gone; every run would alert).
    - A scheduled run: the cutoff, even one already past: the timetable creates tonight's run
      for tonight's date, so a run created after the cutoff (scheduler down, DAG paused) is the
      night's pipeline being late, and the event goes out at once.
    - Any other run (a manual rerun, an asset-triggered run): the cutoff only while it is still
      ahead. A rerun of an old date, or a run triggered by a backfill's asset events, is not
      the night's pipeline; a manual or asset run for tonight's date before the cutoff is.
    """
    if run_type == BACKFILL_RUN:
        return None
    if run_type == SCHEDULED_RUN or cutoff > created_at:
        return cutoff
    return None


def run_business_date(
    *,
    conf: dict[str, Any] | None,
    data_interval_start: dt.datetime | None,
    run_after: dt.datetime | None,
    timezone: str,
    calendar: str,
) -> dt.date | None:
    """The business date a run is for, from what the scheduler knows when it creates the run.

    The ``business_date`` param of a manual run; else the data interval's start in the
    timetable's timezone (the business-day timetable's interval is the business date); else
    (an asset-triggered run: its asset events are attached only after it is created) the
    latest business date whose nightly run was due when the run was created."""
    from zoneinfo import ZoneInfo

    from include.markets_ops.airflow.business_date import BUSINESS_DATE_KEY, parse_business_date

    requested = (conf or {}).get(BUSINESS_DATE_KEY)
    if requested:
        try:
            return parse_business_date(requested)
        except ValueError:
            return None  # the run's own checks refuse it; no deadline for a date nobody can read
    if data_interval_start is not None:
        return data_interval_start.astimezone(ZoneInfo(timezone)).date()
    if run_after is not None:
        from include.markets_ops.airflow.schedules import latest_complete_business_date

        return latest_complete_business_date(run_after, calendar=calendar, timezone=timezone)
    return None


@deadline_reference(DeadlineReference.TYPES.DAGRUN_CREATED)
@dataclass(frozen=True)
class NightlyCutoff(_FieldsReference):
    """The run's business date at the wall-clock cutoff ``Variable[variable]`` (``default_cutoff``
    if unset or invalid) in ``timezone``; None (no deadline) where ``run_cutoff`` says so."""

    variable: str = ""
    default_cutoff: str = DEFAULT_CUTOFF
    timezone: str = OPERATIONS_TIMEZONE
    calendar: str = OPERATIONS_CALENDAR
    required_kwargs: ClassVar[set[str]] = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session: Any, dag_id: str, run_id: str, **_: Any) -> dt.datetime | None:
        """Runs in the scheduler (or the api-server for a manual run), inside the transaction that
        creates the run: read only, never commit (see the module docstring)."""
        from airflow.models.dagrun import DagRun
        from sqlalchemy import select

        run = session.execute(
            select(DagRun.run_type, DagRun.conf, DagRun.data_interval_start, DagRun.run_after).where(
                DagRun.dag_id == dag_id, DagRun.run_id == run_id
            )
        ).one_or_none()
        if run is None:
            return None
        business_date = run_business_date(
            conf=run.conf,
            data_interval_start=run.data_interval_start,
            run_after=run.run_after,
            timezone=self.timezone,
            calendar=self.calendar,
        )
        if business_date is None:
            log.warning("no business date for %s %s: no cutoff deadline", dag_id, run_id)
            return None
        value = _variable_value(session, self.variable)
        if value is None:
            log.warning("Variable %s is not set: cutoff %s", self.variable, self.default_cutoff)
        offset = cutoff_offset(value, self.default_cutoff)
        cutoff = cutoff_instant(business_date, offset, self.timezone)
        deadline = run_cutoff(str(run.run_type), cutoff, dt.datetime.now(dt.UTC))
        log.info("cutoff of %s %s (%s, %s): %s", dag_id, run_id, run.run_type, business_date, deadline)
        return deadline
