"""How the nightly DAGs are scheduled: their run times and start date, in the operations calendar.

Every nightly DAG declares its schedule the same way (see docs/schedules.md)::

    from business_day_timetable import BusinessDayTimetable
    from include.markets_ops.airflow import schedules

    @dag(schedule=BusinessDayTimetable(), start_date=schedules.START_DATE, catchup=False, ...)

The timetable's defaults are the constants below, so a DAG names a calendar only when it
follows another market than the bank's operations calendar.
"""

from __future__ import annotations

import datetime as dt

import pendulum

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR, OPERATIONS_TIMEZONE

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


def latest_complete_business_date(
    now: dt.datetime,
    calendar: str = OPERATIONS_CALENDAR,
    timezone: str = OPERATIONS_TIMEZONE,
    run_time: dt.time = RUN_AFTER_CLOSE,
) -> dt.date:
    """The latest business date whose nightly run is due at ``now`` (timezone-aware): today
    once the run time has passed on a business day, else the business day before. It is the
    date the scheduler runs when a business-day DAG without catchup is unpaused."""
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(timezone))
    today = local.date()
    if calendars.is_business_day(today, calendar) and local.time() >= run_time:
        return today
    return calendars.previous_business_day(today, calendar)
