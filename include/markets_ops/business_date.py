"""Which business date a DAG run processes.

In order: the ``business_date`` param of a manual trigger; the business date carried by the
asset event that triggered the run; the run's data interval (the business-day timetable
makes the data interval the business date); the logical date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

BUSINESS_DATE_KEY = "business_date"


def parse_business_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise ValueError(f"business_date must be YYYY-MM-DD, got {value!r}") from error


def resolve_business_date(context: Mapping[str, Any]) -> dt.date:
    params = context.get("params") or {}
    if params.get(BUSINESS_DATE_KEY):
        return parse_business_date(params[BUSINESS_DATE_KEY])
    from_assets = _from_triggering_asset_events(context)
    if from_assets is not None:
        return from_assets
    interval_start = context.get("data_interval_start")
    if interval_start is not None:
        return parse_business_date(interval_start)
    logical_date = context.get("logical_date")
    if logical_date is not None:
        return parse_business_date(logical_date)
    raise ValueError(
        "cannot tell which business date to process: trigger with the business_date param "
        "or from an asset event that carries one"
    )


def _from_triggering_asset_events(context: Mapping[str, Any]) -> dt.date | None:
    events_by_asset = context.get("triggering_asset_events") or {}
    dates = {
        parse_business_date(event.extra[BUSINESS_DATE_KEY])
        for events in events_by_asset.values()
        for event in events
        if (event.extra or {}).get(BUSINESS_DATE_KEY)
    }
    # Several upstream dates queued into one run: process the latest; earlier dates were
    # (or will be) processed by their own runs or a backfill.
    return max(dates) if dates else None
