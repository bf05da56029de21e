from __future__ import annotations

import datetime as dt

import pytest

from include.markets_ops import schedules

D = dt.date


def test_start_date_is_local_midnight_of_the_operations_calendar() -> None:
    assert schedules.START_DATE.timezone_name == schedules.OPERATIONS_TIMEZONE
    assert schedules.START_DATE.time() == dt.time(0, 0)


def test_check_business_date_describes_the_date_and_the_closures_ahead() -> None:
    seen = schedules.check_business_date(D(2026, 11, 25), horizon_days=31)
    assert seen == {
        "business_date": "2026-11-25",
        "calendar": "XNYS",
        "previous_business_day": "2026-11-24",
        "next_business_day": "2026-11-27",
        "upcoming_closures": [
            {"date": "2026-11-26", "name": "Thanksgiving Day (XNYS)"},
            {"date": "2026-12-25", "name": "Christmas Day (XNYS)"},
        ],
    }


def test_weekend_holidays_are_not_listed_as_closures() -> None:
    # Independence Day 2026 is a Saturday; the exchange closes on Friday 3 July instead.
    closures = schedules.check_business_date(D(2026, 7, 1), horizon_days=5)["upcoming_closures"]
    assert closures == [{"date": "2026-07-03", "name": "Independence Day (observed) (XNYS)"}]


@pytest.mark.parametrize(
    ("day", "calendar", "reason"),
    [
        (D(2026, 11, 26), "XNYS", "Thanksgiving Day"),
        (D(2026, 11, 28), "XNYS", "Saturday"),
        (D(2026, 4, 6), "XLON", "Easter Monday"),
    ],
)
def test_a_date_that_is_not_a_business_day_fails_naming_the_rule_and_why(day, calendar, reason) -> None:
    rule = "business-date-is-a-business-day"
    with pytest.raises(schedules.NotABusinessDateError, match=rf"{rule}: 1 date .*{reason}"):
        schedules.check_business_date(day, calendar)


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
