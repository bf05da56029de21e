"""The nightly deadlines' references: the Variables' values, defaults otherwise, the cutoff's wall-clock
time and which runs get it, and round trips through the serialized form (what the scheduler reads back)."""

from __future__ import annotations

import datetime as dt

import pytest

from include.markets_ops.airflow.deadlines import (
    NightlyCutoff,
    QueuedAtPlusVariable,
    cutoff_instant,
    cutoff_offset,
    interval_seconds,
    run_business_date,
    run_cutoff,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5400", 5400), (" 60 ", 60), (None, 7200), ("", 7200), ("1h", 7200), ("0", 7200), ("-5", 7200)],
)
def test_the_variable_gives_positive_seconds_or_the_default(value: str | None, expected: int) -> None:
    assert interval_seconds(value, 7200) == expected


def test_the_reference_round_trips_through_its_serialized_form() -> None:
    from airflow.serialization.encoders import encode_deadline_reference

    reference = QueuedAtPlusVariable("trade_reconciliation_deadline_seconds", 3600)
    encoded = encode_deadline_reference(reference)
    assert encoded["__class_path"] == "include.markets_ops.airflow.deadlines.QueuedAtPlusVariable"
    assert QueuedAtPlusVariable.deserialize_reference(encoded) == reference


# --- The nightly cutoff -------------------------------------------------------------------------

NEW_YORK = "America/New_York"
UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("23:30", dt.timedelta(hours=23, minutes=30)),
        (" 02:00 ", dt.timedelta(hours=2)),
        ("26:00", dt.timedelta(hours=26)),
        ("21:15:30", dt.timedelta(hours=21, minutes=15, seconds=30)),
        ("47:59:59", dt.timedelta(hours=47, minutes=59, seconds=59)),
        # invalid: the default
        ("48:00", dt.timedelta(hours=23, minutes=30)),
        ("23:60", dt.timedelta(hours=23, minutes=30)),
        ("11pm", dt.timedelta(hours=23, minutes=30)),
        ("", dt.timedelta(hours=23, minutes=30)),
        (None, dt.timedelta(hours=23, minutes=30)),
    ],
)
def test_the_cutoff_variable_is_a_time_after_midnight_of_the_business_date(
    value: str | None, expected: dt.timedelta
) -> None:
    assert cutoff_offset(value, "23:30") == expected


def test_an_invalid_default_cutoff_is_refused() -> None:
    with pytest.raises(ValueError, match="default cutoff"):
        cutoff_offset(None, "half past eleven")


@pytest.mark.parametrize(
    ("business_date", "offset", "expected_utc"),
    [
        # EST (UTC-5) and EDT (UTC-4)
        (
            dt.date(2026, 1, 15),
            dt.timedelta(hours=23, minutes=30),
            dt.datetime(2026, 1, 16, 4, 30, tzinfo=UTC),
        ),
        (
            dt.date(2026, 7, 15),
            dt.timedelta(hours=23, minutes=30),
            dt.datetime(2026, 7, 16, 3, 30, tzinfo=UTC),
        ),
        # "26:00" is 02:00 the next calendar day, on the wall clock
        (dt.date(2026, 7, 15), dt.timedelta(hours=26), dt.datetime(2026, 7, 16, 6, 0, tzinfo=UTC)),
        # Friday before the autumn DST change (Sunday 1 November 2026): 02:00 Saturday is EDT
        (dt.date(2026, 10, 30), dt.timedelta(hours=26), dt.datetime(2026, 10, 31, 6, 0, tzinfo=UTC)),
        # the Friday before the spring change (Sunday 8 March 2026): still EST
        (dt.date(2026, 3, 6), dt.timedelta(hours=23, minutes=30), dt.datetime(2026, 3, 7, 4, 30, tzinfo=UTC)),
    ],
)
def test_the_cutoff_is_a_wall_clock_time_in_the_calendars_timezone(
    business_date: dt.date, offset: dt.timedelta, expected_utc: dt.datetime
) -> None:
    assert cutoff_instant(business_date, offset, NEW_YORK) == expected_utc


CUTOFF = dt.datetime(2026, 10, 31, 3, 30, tzinfo=UTC)  # 2026-10-30 23:30 New York
BEFORE, AFTER = CUTOFF - dt.timedelta(hours=3), CUTOFF + dt.timedelta(days=20)


@pytest.mark.parametrize(
    ("run_type", "created_at", "expected"),
    [
        ("scheduled", BEFORE, CUTOFF),
        ("scheduled", AFTER, CUTOFF),  # tonight's run created late: late at once
        ("manual", BEFORE, CUTOFF),  # a manual run of tonight's date
        ("manual", AFTER, None),  # a rerun of an old date
        ("asset_triggered", BEFORE, CUTOFF),
        ("asset_triggered", AFTER, None),
        ("backfill", BEFORE, None),
        ("backfill", AFTER, None),
    ],
)
def test_backfills_and_reruns_of_past_dates_get_no_cutoff(
    run_type: str, created_at: dt.datetime, expected: dt.datetime | None
) -> None:
    assert run_cutoff(run_type, CUTOFF, created_at) == expected


def _business_date(**run: object) -> dt.date | None:
    fields: dict = {"conf": None, "data_interval_start": None, "run_after": None, **run}
    return run_business_date(**fields, timezone=NEW_YORK, calendar="XNYS")


def test_a_manual_runs_business_date_is_its_param() -> None:
    interval_start = dt.datetime(2026, 10, 30, 4, tzinfo=UTC)
    assert _business_date(
        conf={"business_date": "2026-10-01"}, data_interval_start=interval_start
    ) == dt.date(2026, 10, 1)
    assert _business_date(conf={"business_date": "30/10/2026"}) is None


def test_a_scheduled_runs_business_date_is_its_data_interval_start_in_the_calendars_timezone() -> None:
    # the business-day timetable's interval starts at midnight New York: 04:00 UTC in summer
    assert _business_date(conf={}, data_interval_start=dt.datetime(2026, 10, 30, 4, tzinfo=UTC)) == dt.date(
        2026, 10, 30
    )


def test_an_asset_triggered_runs_business_date_is_the_latest_due_when_it_was_created() -> None:
    # Friday 30 October 2026, 21:00 New York: that day's run is due
    assert _business_date(run_after=dt.datetime(2026, 10, 31, 1, tzinfo=UTC)) == dt.date(2026, 10, 30)
    # Saturday morning: still Friday's
    assert _business_date(run_after=dt.datetime(2026, 10, 31, 14, tzinfo=UTC)) == dt.date(2026, 10, 30)
    assert _business_date() is None


def test_the_cutoff_reference_round_trips_through_its_serialized_form() -> None:
    from airflow.serialization.encoders import encode_deadline_reference

    reference = NightlyCutoff("nightly_pipeline_cutoff", "23:30", NEW_YORK, "XNYS")
    encoded = encode_deadline_reference(reference)
    assert encoded["__class_path"] == "include.markets_ops.airflow.deadlines.NightlyCutoff"
    assert NightlyCutoff.deserialize_reference(encoded) == reference


def test_the_nightly_chain_has_both_deadlines() -> None:
    from include.markets_ops.airflow.defaults import CUTOFF_VARIABLE, nightly_cutoff, nightly_deadline

    alerts = [nightly_deadline("ops_sql_alerts"), nightly_cutoff()]
    assert [type(alert.reference).__name__ for alert in alerts] == ["QueuedAtPlusVariable", "NightlyCutoff"]
    assert alerts[1].reference.variable == CUTOFF_VARIABLE
    assert alerts[1].callback.kwargs == {"deadline_name": "nightly_cutoff"}


def test_the_run_types_are_airflows() -> None:
    from airflow.utils.types import DagRunType

    from include.markets_ops.airflow.deadlines import BACKFILL_RUN, SCHEDULED_RUN

    assert (DagRunType.BACKFILL_JOB.value, DagRunType.SCHEDULED.value) == (BACKFILL_RUN, SCHEDULED_RUN)
    assert str(DagRunType.BACKFILL_JOB) == BACKFILL_RUN  # what _evaluate_with compares
