"""Which business date a run processes, for runs scheduled by the business-day timetable."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pendulum
import pytest
from business_day_timetable import BusinessDayTimetable

from include.markets_ops.airflow.business_date import resolve_business_date

D = dt.date


def scheduled_context(timetable: BusinessDayTimetable, business_date: dt.date) -> dict:
    """What the task runner passes for a scheduled run: the interval in UTC and the parsed DAG."""
    interval = timetable.data_interval_for(business_date)
    return {
        "params": {},
        "dag": SimpleNamespace(timetable=timetable),
        "data_interval_start": interval.start.in_timezone("UTC"),
        "logical_date": interval.start.in_timezone("UTC"),
    }


def test_new_york_runs_process_their_business_date() -> None:
    context = scheduled_context(BusinessDayTimetable(), D(2026, 11, 25))
    assert resolve_business_date(context) == D(2026, 11, 25)


def test_london_summer_runs_process_their_business_date_not_the_utc_day_before() -> None:
    # 15 June 00:00 BST is 14 June 23:00 UTC.
    context = scheduled_context(BusinessDayTimetable("XLON", "Europe/London"), D(2026, 6, 15))
    assert context["data_interval_start"].date() == D(2026, 6, 14)
    assert resolve_business_date(context) == D(2026, 6, 15)


def test_without_a_business_day_timetable_the_interval_start_date_is_used() -> None:
    context = {
        "data_interval_start": pendulum.datetime(2026, 11, 25, 5),
        "dag": SimpleNamespace(timetable=None),
    }
    assert resolve_business_date(context) == D(2026, 11, 25)


def test_the_business_date_param_still_wins() -> None:
    context = scheduled_context(BusinessDayTimetable(), D(2026, 11, 25))
    context["params"] = {"business_date": "2026-11-20"}
    assert resolve_business_date(context) == D(2026, 11, 20)


def asset_triggered_context(events_by_asset: dict[str, list[str | None]]) -> dict:
    """What the task runner passes for a run triggered by assets: their queued events."""
    return {
        "params": {},
        "triggering_asset_events": {
            asset: [SimpleNamespace(extra={} if day is None else {"business_date": day}) for day in days]
            for asset, days in events_by_asset.items()
        },
    }


def test_an_asset_triggered_run_processes_the_latest_date_all_its_inputs_have() -> None:
    # Seen in a demo after the test suite: a manual run's far date and a backfill's dates queued
    # on one input next to tonight's date on both.
    context = asset_triggered_context(
        {
            "ml.trade_scores": ["2026-11-25"],
            "reporting.recon_breaks": ["2026-11-24", "2034-01-10", "2026-11-25", "2026-11-20"],
        }
    )
    assert resolve_business_date(context) == D(2026, 11, 25)


def test_without_a_date_common_to_all_inputs_the_latest_date_is_processed() -> None:
    context = asset_triggered_context(
        {"ml.trade_scores": ["2026-11-25"], "reporting.recon_breaks": ["2026-11-24"]}
    )
    assert resolve_business_date(context) == D(2026, 11, 25)


def test_events_without_a_business_date_are_ignored() -> None:
    context = asset_triggered_context({"ops.trades": ["2026-11-24", None], "ops.settlement_outcomes": [None]})
    assert resolve_business_date(context) == D(2026, 11, 24)
    # ...and with none at all (and no schedule), the run is refused with what to do.
    with pytest.raises(ValueError, match="trigger with the business_date param"):
        resolve_business_date(asset_triggered_context({"ops.trades": [None]}))
