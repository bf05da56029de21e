"""Calendar arithmetic over numpy arrays of dates, for whole days of trades at once.

Operations days (the bank's business dates, NYSE) are numbered consecutively so that "two
business days later" is ``index + 2``; a calendar date maps to the first operations day on or
after it, which is the business date on which an event of that date is reported. Market
calendar functions are evaluated once per distinct (date, market) and cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR

YEARS = range(2015, 2046)  # the span the synthetic worlds may live in
EPOCH_DAY = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: the integer behind numpy's datetime64[D]."""
    return (day - EPOCH_DAY).days


def to_date(number: int | np.integer) -> dt.date:
    return EPOCH_DAY + dt.timedelta(days=int(number))


@lru_cache(maxsize=1)
def _operations_days() -> np.ndarray:
    days = [
        day_number(day)
        for day in calendars.business_days(
            dt.date(YEARS.start, 1, 1), dt.date(YEARS.stop - 1, 12, 31), OPERATIONS_CALENDAR
        )
    ]
    return np.array(days, dtype=np.int64)


def operations_index(day: dt.date) -> int:
    """The number of an operations business day; refuses a date that is not one."""
    _check_span(day)
    days = _operations_days()
    position = int(np.searchsorted(days, day_number(day)))
    if position >= len(days) or days[position] != day_number(day):
        raise ValueError(f"{day} is not a {OPERATIONS_CALENDAR} business day")
    return position


def reporting_index(day_numbers: np.ndarray) -> np.ndarray:
    """For each date (day numbers), the number of the first operations day on or after it."""
    return np.searchsorted(_operations_days(), day_numbers).astype(np.int32)


def operations_date(index: int) -> dt.date:
    return to_date(_operations_days()[index])


def _check_span(day: dt.date) -> None:
    if day.year not in YEARS:
        raise ValueError(f"{day} is outside the synthetic calendar span {YEARS.start}-{YEARS.stop - 1}")


@lru_cache(maxsize=65536)
def settle_day(trade_day: int, market: str) -> int:
    return day_number(calendars.settle_date(to_date(trade_day), market))


@lru_cache(maxsize=65536)
def shift_business_days(day: int, count: int, market: str) -> int:
    return day_number(calendars.add_business_days(to_date(day), count, market))


@lru_cache(maxsize=65536)
def holiday_between(trade_day: int, settle: int, market: str) -> bool:
    """A weekday strictly between trade and settlement on which the market is closed."""
    for number in range(trade_day + 1, settle):
        day = to_date(number)
        if day.weekday() < 5 and not calendars.is_business_day(day, market):
            return True
    return False


def per_distinct(function: Callable[..., Any], *columns: np.ndarray, dtype: type = np.int64) -> np.ndarray:
    """Apply a scalar function once per distinct row of ``columns`` and spread the results back.

    A day's trades have only a few dozen distinct (trade date, market) pairs, so calendar
    arithmetic runs a few dozen times per day instead of once per trade. The rows are told
    apart by one integer key (each column's value codes, mixed radix). Integer and boolean
    columns (day numbers, market indexes) are coded by counting, in one pass: sorting a
    million values per column was most of a booking day's generation time."""
    uniques, codes = [], []
    for column in columns:
        values, code = _distinct(np.asarray(column))
        uniques.append(values)
        codes.append(code)
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for values, code in zip(uniques, codes, strict=True):
        key = key * len(values) + code
    distinct, inverse = _distinct(key)
    results = [function(*_decode(int(k), uniques)) for k in distinct]
    return np.array(results, dtype=dtype)[inverse]


# Widest range of integers _distinct codes by counting (a table of this many entries).
_COUNTING_SPAN = 1 << 22


def _distinct(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``column`` and each row's index among them, as
    ``np.unique(column, return_inverse=True)`` gives them; by counting for integers in a
    narrow range, by sorting otherwise."""
    if column.dtype.kind in "biu" and len(column):
        low, high = int(column.min()), int(column.max())
        if high - low < _COUNTING_SPAN:
            offsets = column.astype(np.int64) - low
            present = np.bincount(offsets, minlength=high - low + 1) > 0
            code_of_offset = np.cumsum(present) - 1
            values = (np.flatnonzero(present) + low).astype(column.dtype)
            return values, code_of_offset[offsets]
    values, code = np.unique(column, return_inverse=True)
    return values, code.reshape(-1)


def _decode(key: int, uniques: list[np.ndarray]) -> list[Any]:
    """The column values a per_distinct key stands for."""
    parts = []
    for values in reversed(uniques):
        key, index = divmod(key, len(values))
        parts.append(values[index].item())
    return parts[::-1]
