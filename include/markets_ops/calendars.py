"""Business-day calendars of the markets the bank trades, from the maintained ``holidays`` package.

A market's calendar is its exchange's (or settlement system's) holiday list plus weekends.
Settlement dates are counted in business days of the market's settlement calendar; the
bank's operations calendar (the nightly business date) is configurable, NYSE by default.
``check_business_date`` is the rule every pipeline applies to a run's business date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from include.markets_ops.errors import BadInputError

# The bank's operations calendar: the nightly business date follows the New York Stock
# Exchange's trading days (weekends and NYSE holidays are not business dates), in New York time.
# Declared here only: the schedules, the reports, the alert rules and the generator all use it.
OPERATIONS_CALENDAR = "XNYS"
OPERATIONS_TIMEZONE = "America/New_York"

# Calendar codes understood by holidays.financial_holidays(); see list_supported_financial().
KNOWN_CALENDARS = ("XNYS", "XFED", "XLON", "XETR", "XPAR", "XECB", "XJPX")


@dataclass(frozen=True)
class Market:
    """Where and how a kind of instrument settles."""

    code: str
    calendar: str  # the holidays calendar trading and settlement follow
    currency: str
    settlement_location: str
    settlement_cycle_days: int  # T+n in this market's business days
    country_code: str


# The markets of the synthetic Markets Operations data (and of the demo). US equities moved
# to T+1 in May 2024; UK and EU equities are still T+2 in 2026.
MARKETS: dict[str, Market] = {
    "XNYS": Market("XNYS", "XNYS", "USD", "DTC", 1, "US"),
    "USGOV": Market("USGOV", "XFED", "USD", "FED", 1, "US"),
    "XLON": Market("XLON", "XLON", "GBP", "CREST", 2, "GB"),
    "XETR": Market("XETR", "XETR", "EUR", "Clearstream", 2, "DE"),
    "XPAR": Market("XPAR", "XPAR", "EUR", "Euroclear", 2, "FR"),
    "XICSD": Market("XICSD", "XECB", "EUR", "Euroclear", 2, "XS"),  # Eurobonds at the ICSDs
    "FXSPOT": Market("FXSPOT", "XFED", "USD", "CLS", 2, "XX"),  # spot FX: USD and EUR calendars
}
# FX spot settles only on days both currencies' systems are open.
JOINT_CALENDARS: dict[str, tuple[str, ...]] = {"FXSPOT": ("XFED", "XECB")}


@lru_cache(maxsize=64)
def _holidays(calendar: str, year: int) -> frozenset[dt.date]:
    import holidays

    if calendar not in KNOWN_CALENDARS:
        raise ValueError(f"unknown calendar {calendar!r}; known: {', '.join(KNOWN_CALENDARS)}")
    return frozenset(holidays.financial_holidays(calendar, years=year).keys())


def check_known(market_or_calendar: str) -> None:
    """Refuse a code that is neither a market nor a calendar of this module, naming the known ones."""
    if market_or_calendar in MARKETS or market_or_calendar in JOINT_CALENDARS:
        return
    if market_or_calendar not in KNOWN_CALENDARS:
        known = sorted({*KNOWN_CALENDARS, *MARKETS})
        raise ValueError(f"unknown calendar {market_or_calendar!r}; known: {', '.join(known)}")


def _calendars_of(market_or_calendar: str) -> tuple[str, ...]:
    if market_or_calendar in JOINT_CALENDARS:
        return JOINT_CALENDARS[market_or_calendar]
    if market_or_calendar in MARKETS:
        return (MARKETS[market_or_calendar].calendar,)
    return (market_or_calendar,)


def is_business_day(day: dt.date, market_or_calendar: str) -> bool:
    """Monday to Friday and not a holiday of the market (or calendar code) given."""
    if day.weekday() >= 5:
        return False
    return all(day not in _holidays(code, day.year) for code in _calendars_of(market_or_calendar))


def add_business_days(day: dt.date, count: int, market_or_calendar: str) -> dt.date:
    """The business day ``count`` business days after (count > 0) or before (count < 0) ``day``.

    ``count == 0`` rolls a non-business day forward to the next business day.
    """
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    current = day
    if remaining == 0:
        while not is_business_day(current, market_or_calendar):
            current += dt.timedelta(days=1)
        return current
    while remaining:
        current += dt.timedelta(days=step)
        if is_business_day(current, market_or_calendar):
            remaining -= 1
    return current


def business_days(start: dt.date, end: dt.date, market_or_calendar: str) -> Iterator[dt.date]:
    """Business days in [start, end], in order."""
    current = start
    while current <= end:
        if is_business_day(current, market_or_calendar):
            yield current
        current += dt.timedelta(days=1)


def business_days_between(earlier: dt.date, later: dt.date, market_or_calendar: str) -> int:
    """How many business days after ``earlier`` ``later`` is (0 when the same day)."""
    if later < earlier:
        return -business_days_between(later, earlier, market_or_calendar)
    return sum(1 for _ in business_days(earlier + dt.timedelta(days=1), later, market_or_calendar))


def previous_business_day(day: dt.date, market_or_calendar: str) -> dt.date:
    return add_business_days(day, -1, market_or_calendar)


def settle_date(trade_date: dt.date, market_code: str) -> dt.date:
    """Contractual settlement date: T + the market's cycle, in its settlement business days."""
    market = MARKETS[market_code]
    return add_business_days(trade_date, market.settlement_cycle_days, market_code)


def holidays_between(start: dt.date, end: dt.date, market_or_calendar: str) -> list[tuple[dt.date, str]]:
    """The holidays in [start, end] (weekends included), each named with its calendar, in order."""
    import holidays

    check_known(market_or_calendar)
    found: dict[dt.date, list[str]] = {}
    years = range(start.year, end.year + 1)
    for code in _calendars_of(market_or_calendar):
        for day, name in holidays.financial_holidays(code, years=years).items():
            if start <= day <= end:
                found.setdefault(day, []).append(f"{name} ({code})")
    return [(day, ", ".join(found[day])) for day in sorted(found)]


class NotABusinessDateError(BadInputError, ValueError):
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
    if not is_business_day(business_date, calendar):
        closure = holidays_between(business_date, business_date, calendar)
        reason = closure[0][1] if closure else business_date.strftime("%A")
        raise NotABusinessDateError(
            f"rule business-date-is-a-business-day: 1 date is not a {calendar} business day, "
            f"e.g. {business_date.isoformat()} ({reason})"
        )
    horizon_end = business_date + dt.timedelta(days=horizon_days)
    return {
        "business_date": business_date.isoformat(),
        "calendar": calendar,
        "previous_business_day": previous_business_day(business_date, calendar).isoformat(),
        "next_business_day": add_business_days(business_date, 1, calendar).isoformat(),
        "upcoming_closures": [
            {"date": day.isoformat(), "name": name}
            for day, name in holidays_between(business_date, horizon_end, calendar)
            if day.weekday() < 5  # weekend holidays close nothing
        ],
    }
