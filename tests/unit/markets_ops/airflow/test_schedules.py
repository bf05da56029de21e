from __future__ import annotations

import datetime as dt

import pytest

from include.markets_ops import calendars
from include.markets_ops.airflow import schedules

D = dt.date


def test_start_date_is_local_midnight_of_the_operations_calendar() -> None:
    assert schedules.START_DATE.timezone_name == calendars.OPERATIONS_TIMEZONE
    assert schedules.START_DATE.time() == dt.time(0, 0)


@pytest.mark.parametrize(
    ("utc_now", "expected"),
    [
        # Friday after Thanksgiving, 08:50 in New York: Thursday was a holiday, so Wednesday.
        (dt.datetime(2026, 11, 27, 13, 50), D(2026, 11, 25)),
        # The same Friday at 18:30 New York (23:30 UTC): the Friday itself is now due.
        (dt.datetime(2026, 11, 27, 23, 30), D(2026, 11, 27)),
        (dt.datetime(2026, 11, 27, 23, 29), D(2026, 11, 25)),
        # Sunday: the Friday before.
        (dt.datetime(2026, 11, 29, 12, 0), D(2026, 11, 27)),
        # Monday 01:00 UTC is still Sunday evening in New York.
        (dt.datetime(2026, 11, 30, 1, 0), D(2026, 11, 27)),
        # Summer time: 18:30 New York is 22:30 UTC.
        (dt.datetime(2026, 7, 1, 22, 30), D(2026, 7, 1)),
        (dt.datetime(2026, 7, 1, 22, 29), D(2026, 6, 30)),
    ],
)
def test_latest_complete_business_date(utc_now: dt.datetime, expected: dt.date) -> None:
    now = utc_now.replace(tzinfo=dt.UTC)
    assert schedules.latest_complete_business_date(now) == expected
