"""How the nightly DAGs are scheduled: the operations calendar, its timezone and the run time.

Every nightly DAG declares its schedule the same way (see docs/schedules.md)::

    from business_day_timetable import BusinessDayTimetable
    from include.markets_ops import schedules

    @dag(schedule=BusinessDayTimetable(), start_date=schedules.START_DATE, catchup=False, ...)

The timetable's defaults are the constants below, so a DAG names a calendar only when it
follows another market than the bank's operations calendar.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum

# The bank's operations calendar: the nightly business date follows the New York Stock
# Exchange's trading days (weekends and NYSE holidays are not business dates).
OPERATIONS_CALENDAR = "XNYS"
OPERATIONS_TIMEZONE = "America/New_York"
# The NYSE closes at 16:00; custody and booking feeds are complete by 18:00 (early-close
# days such as the Friday after Thanksgiving close earlier, so 18:30 is always after the close).
RUN_AFTER_CLOSE = dt.time(18, 30)
# The DAGs downstream of the feed start as soon as its assets are updated; their own timetable
# run is a safety net later in the evening (if the feed's event never came, they still process
# what landed). Reruns are idempotent, so a safety-net run after the asset run changes nothing.
SCORING_AND_RECON_SAFETY_NET = dt.time(20, 30)
ALERTS_SAFETY_NET = dt.time(21, 30)
# Weekly retraining: after the week's last feed, scoring and reports.
WEEKLY_TRAINING = dt.time(22, 0)

# The first business date the nightly DAGs may run for, at local midnight of the operations
# calendar (a start_date at UTC midnight would be a different instant; see docs/schedules.md).
START_DATE = pendulum.datetime(2026, 1, 1, tz=OPERATIONS_TIMEZONE)


class NotABusinessDateError(ValueError):
    """A run's business date is not a business day of its calendar: the schedule is wrong."""


def check_business_date(
    business_date: dt.date, calendar: str = OPERATIONS_CALENDAR, horizon_days: int = 30
) -> dict[str, Any]:
    """Check that ``business_date`` is a business day of ``calendar`` and describe it: the
    neighbouring business days and the closures in the next ``horizon_days`` days.

    A business-day timetable only produces business days; a failure here means the calendar
    changed under existing runs (a new closure in the holidays package) or a run was created
    for a date by hand.
    """
    from include.markets_ops import calendars

    if not calendars.is_business_day(business_date, calendar):
        closure = calendars.holidays_between(business_date, business_date, calendar)
        reason = closure[0][1] if closure else business_date.strftime("%A")
        raise NotABusinessDateError(
            f"rule business-date-is-a-business-day: 1 date is not a {calendar} business day, "
            f"e.g. {business_date.isoformat()} ({reason})"
        )
    horizon_end = business_date + dt.timedelta(days=horizon_days)
    return {
        "business_date": business_date.isoformat(),
        "calendar": calendar,
        "previous_business_day": calendars.previous_business_day(business_date, calendar).isoformat(),
        "next_business_day": calendars.add_business_days(business_date, 1, calendar).isoformat(),
        "upcoming_closures": [
            {"date": day.isoformat(), "name": name}
            for day, name in calendars.holidays_between(business_date, horizon_end, calendar)
            if day.weekday() < 5  # weekend holidays close nothing
        ],
    }
