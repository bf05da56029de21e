"""Which business date a DAG run processes.

In order: the ``business_date`` param of a manual trigger; the business date carried by the
asset event that triggered the run; the run's data interval (the business-day timetable
makes the data interval the business date), read in the timetable's timezone; the logical date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from include.markets_ops.errors import BadInputError

BUSINESS_DATE_KEY = "business_date"


class BusinessDateError(BadInputError, ValueError):
    """The run's business date is missing or malformed: a retry would read the same params."""


def parse_business_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise BusinessDateError(f"business_date must be YYYY-MM-DD, got {value!r}") from error


def resolve_business_date(context: Mapping[str, Any]) -> dt.date:
    params = context.get("params") or {}
    if params.get(BUSINESS_DATE_KEY):
        return parse_business_date(params[BUSINESS_DATE_KEY])
    from_assets = _from_triggering_asset_events(context)
    if from_assets is not None:
        return from_assets
    business_timezone = _timetable_timezone(context)
    interval_start = context.get("data_interval_start")
    if interval_start is not None:
        return parse_business_date(_in_timezone(interval_start, business_timezone))
    logical_date = context.get("logical_date")
    if logical_date is not None:
        return parse_business_date(_in_timezone(logical_date, business_timezone))
    raise BusinessDateError(
        "cannot tell which business date to process: trigger with the business_date param "
        "or from an asset event that carries one"
    )


def _from_triggering_asset_events(context: Mapping[str, Any]) -> dt.date | None:
    """The latest business date every triggering asset has an event for.

    A run scheduled on several assets (e.g. TRADE_SCORES & RECON_BREAKS) receives every event
    queued since the last run: tonight's date on each asset, but also a backfill's or a
    rerun's older dates, or a far date from a manual run, on one of them. The date whose
    inputs have all landed is the one to process. When there is none, the latest date of all
    (the other inputs' events for it are still to come; the safety-net schedule reruns it).
    """
    events_by_asset = context.get("triggering_asset_events") or {}
    dates_by_asset = [
        {
            parse_business_date(event.extra[BUSINESS_DATE_KEY])
            for event in events
            if (event.extra or {}).get(BUSINESS_DATE_KEY)
        }
        for events in events_by_asset.values()
    ]
    dates_by_asset = [dates for dates in dates_by_asset if dates]
    if not dates_by_asset:
        return None
    common = set.intersection(*dates_by_asset)
    return max(common or set.union(*dates_by_asset))


def _timetable_timezone(context: Mapping[str, Any]) -> dt.tzinfo | None:
    """The timezone the DAG's timetable counts business days in, when it has one.

    The business-day timetable's data interval starts at local midnight of the business date;
    the context holds it in UTC, where for calendars east of UTC (London, Frankfurt, Tokyo)
    that instant falls on the day before.
    """
    timetable = getattr(context.get("dag"), "timetable", None)
    timezone = getattr(timetable, "timezone", None)
    return timezone if isinstance(timezone, dt.tzinfo) else None


def _in_timezone(value: Any, timezone: dt.tzinfo | None) -> Any:
    if timezone is not None and isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(timezone)
    return value
