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

import pendulum

# The bank's operations calendar: the nightly business date follows the New York Stock
# Exchange's trading days (weekends and NYSE holidays are not business dates).
OPERATIONS_CALENDAR = "XNYS"
OPERATIONS_TIMEZONE = "America/New_York"
# The NYSE closes at 16:00; custody and booking feeds are complete by 18:00 (early-close
# days such as the Friday after Thanksgiving close earlier, so 18:30 is always after the close).
RUN_AFTER_CLOSE = dt.time(18, 30)

# The first business date the nightly DAGs may run for, at local midnight of the operations
# calendar (a start_date at UTC midnight would be a different instant; see docs/schedules.md).
START_DATE = pendulum.datetime(2026, 1, 1, tz=OPERATIONS_TIMEZONE)
