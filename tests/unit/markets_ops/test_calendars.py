from __future__ import annotations

import datetime as dt

import pytest

from include.markets_ops import calendars

D = dt.date


def test_weekends_and_exchange_holidays_are_not_business_days() -> None:
    assert not calendars.is_business_day(D(2026, 11, 28), "XNYS")  # Saturday
    assert not calendars.is_business_day(D(2026, 11, 26), "XNYS")  # Thanksgiving
    assert calendars.is_business_day(D(2026, 11, 26), "XLON")  # London is open
    assert not calendars.is_business_day(D(2026, 12, 28), "XLON")  # Boxing Day observed


def test_us_equities_settle_t_plus_one_over_thanksgiving() -> None:
    assert calendars.settle_date(D(2026, 11, 25), "XNYS") == D(2026, 11, 27)


def test_uk_equities_settle_t_plus_two_over_the_easter_weekend() -> None:
    # Thu 2 Apr 2026 + 2 London business days: Good Friday and Easter Monday are closed.
    assert calendars.settle_date(D(2026, 4, 2), "XLON") == D(2026, 4, 8)


def test_fx_spot_needs_both_currencies_open() -> None:
    # Easter Monday: the Fed is open, TARGET2 is closed; 2 Apr (Thu) + 2 joint days.
    assert not calendars.is_business_day(D(2026, 4, 6), "FXSPOT")
    assert calendars.settle_date(D(2026, 4, 2), "FXSPOT") == D(2026, 4, 8)


def test_add_business_days_backwards_and_rolling_forward() -> None:
    assert calendars.add_business_days(D(2026, 11, 30), -1, "XNYS") == D(2026, 11, 27)
    assert calendars.add_business_days(D(2026, 11, 26), 0, "XNYS") == D(2026, 11, 27)
    assert calendars.business_days_between(D(2026, 11, 25), D(2026, 11, 30), "XNYS") == 2


def test_unknown_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown calendar"):
        calendars.is_business_day(D(2026, 11, 25), "XXXX")


def test_check_known_accepts_calendars_and_markets_and_names_the_known_ones() -> None:
    for code in ("XNYS", "XLON", "XECB", "FXSPOT", "XICSD"):
        calendars.check_known(code)
    with pytest.raises(ValueError, match=r"unknown calendar 'NYSE'; known: .*XNYS"):
        calendars.check_known("NYSE")


def test_holidays_between_lists_named_closures_in_order() -> None:
    assert calendars.holidays_between(D(2026, 11, 20), D(2027, 1, 5), "XNYS") == [
        (D(2026, 11, 26), "Thanksgiving Day (XNYS)"),
        (D(2026, 12, 25), "Christmas Day (XNYS)"),
        (D(2027, 1, 1), "New Year's Day (XNYS)"),
    ]
    # A joint calendar names each calendar's closure.
    easter = calendars.holidays_between(D(2026, 4, 3), D(2026, 4, 6), "FXSPOT")
    assert easter == [(D(2026, 4, 3), "Good Friday (XECB)"), (D(2026, 4, 6), "Easter Monday (XECB)")]


def test_check_business_date_describes_the_date_and_the_closures_ahead() -> None:
    seen = calendars.check_business_date(D(2026, 11, 25), horizon_days=31)
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
    closures = calendars.check_business_date(D(2026, 7, 1), horizon_days=5)["upcoming_closures"]
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
    with pytest.raises(calendars.NotABusinessDateError, match=rf"{rule}: 1 date .*{reason}"):
        calendars.check_business_date(day, calendar)
