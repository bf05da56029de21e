"""Business-day timetables: one run per business date of a market calendar, after the close.

A run's business date D is a business day of the calendar (weekends and the exchange's
holidays skipped, from the ``holidays`` package through ``include.markets_ops.calendars``):

* data interval: [D 00:00, D+1 00:00) in the calendar's timezone, so the logical date is
  the business date (and ``ds`` is D for calendars west of UTC, such as XNYS);
* run after: D at the run time (18:30 by default), local wall-clock time across DST changes.

``WeeklyBusinessDayTimetable`` keeps only the last business day of each week (Thursday when
Friday is a holiday), for the weekly training DAG.

DAG files import these classes as ``from business_day_timetable import ...``: Airflow loads
plugin files as top-level modules (the plugins folder is on sys.path), and the scheduler
finds a DAG's timetable by that qualified name among the registered plugin timetables.
The rules for bounds, manual runs and catchup are in docs/schedules.md.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.exceptions import AirflowTimetableInvalid
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

from include.markets_ops import calendars
from include.markets_ops.airflow import schedules

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.timetables.base import TimeRestriction
    from pendulum import DateTime
    from pendulum.tz.timezone import Timezone

# Every calendar has a run date within a year; a longer search means a broken calendar.
_MAX_SEARCH_DAYS = 370
_UTC = pendulum.UTC


def _utcnow() -> DateTime:
    return pendulum.now(_UTC)


def _parse_run_time(value: dt.time | str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise AirflowTimetableInvalid(f"run_time must be a time or 'HH:MM', got {value!r}") from error


def _parse_timezone(name: str) -> Timezone:
    try:
        return pendulum.timezone(name)
    except Exception as error:  # pendulum raises InvalidTimezone or ZoneInfoNotFoundError
        raise AirflowTimetableInvalid(f"unknown timezone {name!r}: use an IANA name") from error


def _is_utc_midnight(instant: DateTime) -> bool:
    utc = instant.in_timezone(_UTC)
    return utc.time() == dt.time(0, 0)


class BusinessDayTimetable(Timetable):
    """A run after the close of every business day of ``calendar``.

    :param calendar: a calendar or market code of ``include.markets_ops.calendars``
        ("XNYS", "XLON", "XECB", ...); the operations calendar by default.
    :param timezone: IANA timezone of the business day and of ``run_time``.
    :param run_time: local time on the business date after which the run starts.
    """

    _period_name = "business day"

    def __init__(
        self,
        calendar: str = calendars.OPERATIONS_CALENDAR,
        timezone: str = calendars.OPERATIONS_TIMEZONE,
        run_time: dt.time | str = schedules.RUN_AFTER_CLOSE,
    ) -> None:
        try:
            calendars.check_known(calendar)
        except ValueError as error:
            raise AirflowTimetableInvalid(str(error)) from error
        self.calendar = calendar
        self.timezone = _parse_timezone(timezone)
        self.run_time = _parse_run_time(run_time)
        self.description = (
            f"After the close of every {self._describe_days()} at {self._run_time_text()} "
            f"{self.timezone.name}; each run's data interval is its business date, "
            f"midnight to midnight {self.timezone.name}"
        )

    # --- which dates run ------------------------------------------------------------------
    def _describe_days(self) -> str:
        return f"{self.calendar} business day (weekends and {self.calendar} holidays skipped)"

    def is_business_day(self, day: dt.date) -> bool:
        return calendars.is_business_day(day, self.calendar)

    def is_run_date(self, day: dt.date) -> bool:
        """Whether the schedule has a run for business date ``day``."""
        return self.is_business_day(day)

    def _search(self, start: dt.date, step: int, accept: Callable[[dt.date], bool]) -> dt.date:
        day = start
        for _ in range(_MAX_SEARCH_DAYS):
            if accept(day):
                return day
            day += dt.timedelta(days=step)
        raise AirflowTimetableInvalid(f"no {self._period_name} of {self.calendar} within a year of {start}")

    def run_date_on_or_after(self, day: dt.date) -> dt.date:
        return self._search(day, 1, self.is_run_date)

    def run_date_on_or_before(self, day: dt.date) -> dt.date:
        return self._search(day, -1, self.is_run_date)

    # --- business dates <-> instants ------------------------------------------------------
    def _local_midnight(self, day: dt.date) -> DateTime:
        return pendulum.datetime(day.year, day.month, day.day, tz=self.timezone)

    def data_interval_for(self, business_date: dt.date) -> DataInterval:
        start = self._local_midnight(business_date)
        end = self._local_midnight(business_date + dt.timedelta(days=1))
        return DataInterval(start=start.in_timezone(_UTC), end=end.in_timezone(_UTC))

    def run_after_for(self, business_date: dt.date) -> DateTime:
        local = pendulum.datetime(
            business_date.year,
            business_date.month,
            business_date.day,
            self.run_time.hour,
            self.run_time.minute,
            self.run_time.second,
            tz=self.timezone,
        )
        return local.in_timezone(_UTC)

    def business_date_of(self, instant: DateTime) -> dt.date:
        """The calendar date of ``instant`` in this timetable's timezone."""
        return instant.in_timezone(self.timezone).date()

    def _named_date(self, instant: DateTime) -> dt.date:
        """The date a user means by ``instant``: a bare date typed in UTC (midnight UTC, as the
        CLI, the REST API and a UTC UI send "2026-11-24") names that date; any other instant
        names its date in this timetable's timezone."""
        if _is_utc_midnight(instant):
            return instant.in_timezone(_UTC).date()
        return self.business_date_of(instant)

    def _bound(self, instant: DateTime) -> DateTime:
        """A restriction bound as a comparable instant: a bare UTC date becomes that date's
        local midnight, so ``--from-date/--to-date 2026-12-01`` include 1 December."""
        if _is_utc_midnight(instant):
            return self._local_midnight(instant.in_timezone(_UTC).date()).in_timezone(_UTC)
        return instant

    def _info(self, business_date: dt.date) -> DagRunInfo:
        return DagRunInfo(
            run_after=self.run_after_for(business_date),
            data_interval=self.data_interval_for(business_date),
        )

    def latest_complete_run_date(self, now: DateTime) -> dt.date:
        """The latest run date whose run time has passed at ``now``."""
        candidate = self.run_date_on_or_before(self.business_date_of(now))
        if self.run_after_for(candidate) > now:
            candidate = self.run_date_on_or_before(candidate - dt.timedelta(days=1))
        return candidate

    # --- the Timetable protocol -----------------------------------------------------------
    @property
    def summary(self) -> str:
        return f"{self.calendar} business days, {self._run_time_text()} {self.timezone.name}"

    def _run_time_text(self) -> str:
        return self.run_time.isoformat(timespec="seconds" if self.run_time.second else "minutes")

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        """A manual run with logical date X processes the business date containing X (its
        date in the calendar's timezone; a bare UTC date names that date), or the business
        date before it when X falls on a weekend or holiday."""
        named = self._named_date(pendulum.instance(run_after))
        return self.data_interval_for(self._search(named, -1, self.is_business_day))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            last = self.business_date_of(pendulum.instance(last_automated_data_interval.start))
            candidate: dt.date | None = self.run_date_on_or_after(last + dt.timedelta(days=1))
        elif restriction.earliest is not None:
            candidate = self._first_run_date_from(pendulum.instance(restriction.earliest))
        else:
            candidate = None
        if not restriction.catchup:
            # Only the latest complete business date: skip the missed ones.
            latest_complete = self.latest_complete_run_date(_utcnow())
            candidate = latest_complete if candidate is None else max(candidate, latest_complete)
        if candidate is None:
            return None  # catchup with no start_date: nothing to start from
        if restriction.latest is not None and self._local_midnight(candidate) > self._bound(
            pendulum.instance(restriction.latest)
        ):
            return None  # past the DAG's end_date or the backfill's to_date
        return self._info(candidate)

    def _first_run_date_from(self, earliest: DateTime) -> dt.date:
        """The first run date whose data interval starts at or after ``earliest``."""
        bound = self._bound(earliest)
        day = self.business_date_of(bound)
        if self._local_midnight(day) < bound:
            day += dt.timedelta(days=1)
        return self.run_date_on_or_after(day)

    def serialize(self) -> dict[str, Any]:
        return {"calendar": self.calendar, "timezone": self.timezone.name, "run_time": self._run_time_text()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(calendar=data["calendar"], timezone=data["timezone"], run_time=data["run_time"])

    def validate(self) -> None:
        try:
            calendars.check_known(self.calendar)
        except ValueError as error:
            raise AirflowTimetableInvalid(str(error)) from error

    def _identity(self) -> tuple[str, ...]:
        # By qualified name, not by class object: the plugin manager executes this file a second
        # time (as the same module name), so a DAG's instance and a deserialized one can come
        # from two copies of the class. For the same reason, never isinstance-check them.
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            *(f"{key}={value}" for key, value in sorted(self.serialize().items())),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timetable) or not hasattr(other, "_identity"):
            return NotImplemented
        return bool(self._identity() == other._identity())

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.serialize().items())
        return f"{type(self).__name__}({arguments})"


class WeeklyBusinessDayTimetable(BusinessDayTimetable):
    """A run after the close of the last business day of each week (Monday to Sunday).

    That is Friday, or the business day before it when Friday is a holiday (Thursday
    2 April 2026, Good Friday). A scheduled run's business date is that day; a manual run
    processes the business date containing or preceding its logical date, so on-demand
    runs use the latest data rather than last week's.
    """

    _period_name = "week's last business day"

    def _describe_days(self) -> str:
        return f"week, on its last {self.calendar} business day (Thursday when Friday is a holiday)"

    def is_run_date(self, day: dt.date) -> bool:
        if not self.is_business_day(day):
            return False
        following = calendars.add_business_days(day, 1, self.calendar)
        return following.isocalendar()[:2] != day.isocalendar()[:2]

    @property
    def summary(self) -> str:
        return f"{self.calendar} last business day of the week, {self._run_time_text()} {self.timezone.name}"


class BusinessDayTimetablePlugin(AirflowPlugin):
    """Registers the timetables so the scheduler can deserialize DAGs that use them."""

    name = "business_day_timetable"
    timetables = [BusinessDayTimetable, WeeklyBusinessDayTimetable]
