"""The business-day timetable in the running stack, on the real DAG that uses it
(business_calendar_heartbeat): the dag-processor serializes it with the plugin timetable, the
api-server and the scheduler deserialize it, and backfills, scheduled and manual runs get
business dates. Expected dates are computed from the calendar and zoneinfo, not from the
timetable under test."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from include.markets_ops import calendars

DAG_ID = "business_calendar_heartbeat"
DAG_FILE = "business_calendar_heartbeat.py"
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
ACTIVE_STATES = {"queued", "running"}


def ny_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=NEW_YORK)


def parse_utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def business_date_of(logical_date: str) -> dt.date:
    """The business date a run's logical date (its New York midnight) stands for."""
    start = parse_utc(logical_date).astimezone(NEW_YORK)
    assert start.time() == dt.time(0, 0), f"logical date {logical_date} is not New York midnight"
    return start.date()


def wait_until_no_active_runs(airflow_api, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = airflow_api.request("GET", f"/dags/{DAG_ID}/dagRuns", params={"state": sorted(ACTIVE_STATES)})
        if runs["total_entries"] == 0:
            return
        time.sleep(2)
    raise AssertionError(f"{DAG_ID} still has active runs after {timeout:.0f}s")


def wait_for_backfill(airflow_api, backfill_id: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while airflow_api.request("GET", f"/backfills/{backfill_id}")["completed_at"] is None:
        assert time.monotonic() < deadline, f"backfill {backfill_id} did not complete within {timeout:.0f} s"
        time.sleep(3)


def runs_at(airflow_api, logical_date: str) -> list[dict]:
    params = {"logical_date_gte": logical_date, "logical_date_lte": logical_date}
    return airflow_api.request("GET", f"/dags/{DAG_ID}/dagRuns", params=params)["dag_runs"]


def xcom_business_date(airflow_api, run_id: str) -> str:
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/check_business_date/xcomEntries/return_value"
    return airflow_api.request("GET", path)["value"]["business_date"]


def latest_complete_business_date(now: dt.datetime) -> dt.date:
    """The latest XNYS business day whose 18:30 New York has passed at ``now``."""
    day = now.astimezone(NEW_YORK).date()
    while not (
        calendars.is_business_day(day, "XNYS")
        and dt.datetime.combine(day, dt.time(18, 30), tzinfo=NEW_YORK) <= now
    ):
        day -= dt.timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def heartbeat(airflow_api):
    """The DAG as the dag-processor stored it, unpaused for these tests (the scheduler starts
    no run of a paused DAG, backfills included), then paused again as it was created.

    Unpausing a catchup=False DAG makes the scheduler create the run of the latest complete
    business date; it is waited for here, so no scheduled run appears during the tests."""
    dag = airflow_api.wait_for_dag(DAG_ID)
    airflow_api.unpause(DAG_ID)
    latest = latest_complete_business_date(dt.datetime.now(UTC))
    logical_date = ny_midnight(latest).isoformat()
    deadline = time.monotonic() + 180
    while not (runs := runs_at(airflow_api, logical_date)) or runs[0]["state"] in ACTIVE_STATES:
        assert time.monotonic() < deadline, f"the scheduler ran nothing for {latest} within 180 s: {runs}"
        time.sleep(2)
    yield {"dag": dag, "latest_business_date": latest, "latest_run": runs[0]}
    wait_until_no_active_runs(airflow_api)
    airflow_api.request("PATCH", f"/dags/{DAG_ID}", json={"is_paused": True})


def test_the_plugin_is_loaded_by_the_api_server_without_errors(airflow_api) -> None:
    plugins = {p["name"]: p for p in airflow_api.request("GET", "/plugins")["plugins"]}
    assert sorted(plugins["business_day_timetable"]["timetables"]) == [
        "business_day_timetable.BusinessDayTimetable",
        "business_day_timetable.WeeklyBusinessDayTimetable",
    ]
    errors = airflow_api.request("GET", "/plugins/importErrors")["import_errors"]
    assert errors == []


def test_the_dag_processor_parses_the_dag_with_the_plugin_timetable(airflow_api, heartbeat) -> None:
    import_errors = airflow_api.request("GET", "/importErrors")["import_errors"]
    assert [e for e in import_errors if e["filename"].endswith(DAG_FILE)] == []

    details = airflow_api.request("GET", f"/dags/{DAG_ID}/details")
    assert details["timetable_summary"] == "XNYS business days, 18:30 America/New_York"
    assert "weekends and XNYS holidays skipped" in details["timetable_description"]
    # The next run the dag-processor computed through the timetable: a business date's
    # New York midnight, to run at 18:30 New York that day.
    next_date = business_date_of(details["next_dagrun_data_interval_start"])
    assert calendars.is_business_day(next_date, "XNYS")
    next_end = parse_utc(details["next_dagrun_data_interval_end"])
    assert next_end == ny_midnight(next_date + dt.timedelta(days=1))
    assert parse_utc(details["next_dagrun_run_after"]) == dt.datetime.combine(
        next_date, dt.time(18, 30), tzinfo=NEW_YORK
    )


def test_backfill_dry_run_lists_exactly_the_business_dates_in_order(airflow_api, heartbeat) -> None:
    wait_until_no_active_runs(airflow_api)  # an in-flight run would be left out of the dry run
    started = dt.datetime.now(UTC)
    # Bare dates, as `airflow backfill create --from-date 2026-11-20 --to-date 2026-12-01` sends them.
    body = {
        "dag_id": DAG_ID,
        "from_date": "2026-11-20T00:00:00Z",
        "to_date": "2026-12-01T00:00:00Z",
        "reprocess_behavior": "completed",  # list dates that already have a finished run too
    }
    listed = [
        business_date_of(run["logical_date"])
        for run in airflow_api.request("POST", "/backfills/dry_run", json=body)["backfills"]
    ]

    # Airflow backfills only dates whose data interval has ended (New York midnight after it).
    expected = [
        day
        for day in calendars.business_days(dt.date(2026, 11, 20), dt.date(2026, 12, 1), "XNYS")
        if ny_midnight(day + dt.timedelta(days=1)) < started
    ]
    assert listed == expected
    # Dates already past when this test was written, whatever day it runs on:
    nov = [dt.date(2026, 11, day) for day in range(1, 31)]
    assert listed[:4] == [nov[19], nov[22], nov[23], nov[24]]  # 20, 23, 24, 25 November
    assert not {nov[20], nov[21], nov[25], nov[27], nov[28]} & set(listed)  # weekends, Thanksgiving


def test_a_backfill_runs_only_the_business_dates_in_date_order(airflow_api, heartbeat) -> None:
    # Labor Day week: Thursday 3 to Wednesday 9 September 2026; 5-6 weekend, 7 Labor Day.
    for unfinished in airflow_api.request("GET", "/backfills", params={"dag_id": DAG_ID})["backfills"]:
        if unfinished["completed_at"] is None:  # one backfill per DAG at a time: let an earlier one end
            wait_for_backfill(airflow_api, unfinished["id"])
    wait_until_no_active_runs(airflow_api)
    backfill = airflow_api.request(
        "POST",
        "/backfills",
        json={
            "dag_id": DAG_ID,
            "from_date": "2026-09-03T00:00:00Z",
            "to_date": "2026-09-09T00:00:00Z",
            "max_active_runs": 1,
            "reprocess_behavior": "completed",
        },
    )
    wait_for_backfill(airflow_api, backfill["id"])

    runs = airflow_api.request(
        "GET",
        f"/dags/{DAG_ID}/dagRuns",
        params={
            "logical_date_gte": "2026-09-01T00:00:00Z",
            "logical_date_lte": "2026-09-11T00:00:00Z",
            "order_by": "start_date",
        },
    )["dag_runs"]
    assert [business_date_of(run["logical_date"]) for run in runs] == [
        dt.date(2026, 9, 3), dt.date(2026, 9, 4), dt.date(2026, 9, 8), dt.date(2026, 9, 9),
    ]  # fmt: skip
    assert {run["run_type"] for run in runs} == {"backfill"}
    assert {run["state"] for run in runs} == {"success"}
    assert [xcom_business_date(airflow_api, run["dag_run_id"]) for run in runs] == [
        "2026-09-03", "2026-09-04", "2026-09-08", "2026-09-09",
    ]  # fmt: skip


def test_the_scheduler_runs_the_latest_complete_business_date(airflow_api, heartbeat) -> None:
    latest, run = heartbeat["latest_business_date"], heartbeat["latest_run"]
    assert run["run_type"] == "scheduled"
    assert run["state"] == "success", airflow_api.failed_tasks_summary(DAG_ID, run["dag_run_id"])
    assert parse_utc(run["data_interval_end"]) == ny_midnight(latest + dt.timedelta(days=1))
    assert parse_utc(run["run_after"]) == dt.datetime.combine(latest, dt.time(18, 30), tzinfo=NEW_YORK)
    # The task runner parsed the DAG file (importing the plugin module) and got the date.
    assert xcom_business_date(airflow_api, run["dag_run_id"]) == latest.isoformat()


def test_a_manual_run_for_a_holiday_processes_the_business_date_before(airflow_api, heartbeat) -> None:
    thanksgiving = "2026-11-26T00:00:00Z"  # a bare date, as the CLI and a UTC UI send it
    # A logical date is unique per DAG: remove this test's run from an earlier session.
    for run in runs_at(airflow_api, thanksgiving):
        airflow_api.request("DELETE", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}")
    run_id = airflow_api.trigger(DAG_ID, logical_date=thanksgiving)
    run = airflow_api.wait_for_run(DAG_ID, run_id, timeout=180)
    assert run["state"] == "success", airflow_api.failed_tasks_summary(DAG_ID, run_id)
    assert business_date_of(run["data_interval_start"]) == dt.date(2026, 11, 25)
    assert xcom_business_date(airflow_api, run_id) == "2026-11-25"
