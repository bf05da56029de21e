"""The business-day timetables: which business dates run, their data intervals and run times,
across weekends, exchange holidays, month ends and DST changes; catchup, first runs, manual
runs, backfill ranges, serialization and the plugin registration the scheduler relies on."""

from __future__ import annotations

import datetime as dt

import business_day_timetable
import pendulum
import pytest
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import DataInterval, TimeRestriction
from business_day_timetable import BusinessDayTimetable, WeeklyBusinessDayTimetable

from include.markets_ops.airflow import schedules

D = dt.date
NEW_YORK = "America/New_York"
LONDON = "Europe/London"
CATCHUP_FROM_2026 = TimeRestriction(earliest=schedules.START_DATE, latest=None, catchup=True)


def local(tz: str, *args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=tz)


def interval_of(timetable: BusinessDayTimetable, business_date: dt.date) -> DataInterval:
    return timetable.data_interval_for(business_date)


def next_after(timetable: BusinessDayTimetable, business_date: dt.date, restriction=CATCHUP_FROM_2026):
    return timetable.next_dagrun_info(
        last_automated_data_interval=interval_of(timetable, business_date), restriction=restriction
    )


def business_date_of_info(timetable: BusinessDayTimetable, info) -> dt.date:
    return timetable.business_date_of(info.data_interval.start)


def schedule_between(timetable, earliest, latest) -> list[dt.date]:
    """What the scheduler and a backfill iterate: next_dagrun_info until it returns None."""
    restriction = TimeRestriction(earliest=earliest, latest=latest, catchup=True)
    dates, info = [], None
    while (info := timetable.next_dagrun_info_v2(last_dagrun_info=info, restriction=restriction)) is not None:
        dates.append(business_date_of_info(timetable, info))
    return dates


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Set the timetable's notion of now (used only with catchup=False)."""

    def set_now(now: pendulum.DateTime) -> None:
        monkeypatch.setattr(business_day_timetable, "_utcnow", lambda: now.in_timezone("UTC"))

    return set_now


# --- one business date --------------------------------------------------------------------


def test_a_run_covers_its_business_date_midnight_to_midnight_and_starts_after_the_close() -> None:
    info = next_after(BusinessDayTimetable(), D(2026, 11, 23))  # Monday

    assert info.data_interval == DataInterval(
        start=local(NEW_YORK, 2026, 11, 24), end=local(NEW_YORK, 2026, 11, 25)
    )
    assert info.run_after == local(NEW_YORK, 2026, 11, 24, 18, 30)
    assert info.logical_date == local(NEW_YORK, 2026, 11, 24)
    # Airflow's `ds` is the logical date in UTC: for New York it is the business date.
    assert info.logical_date.in_timezone("UTC").strftime("%Y-%m-%d") == "2026-11-24"


@pytest.mark.parametrize(
    ("last", "expected", "why"),
    [
        (D(2026, 11, 24), D(2026, 11, 25), "Tuesday -> Wednesday"),
        (D(2026, 11, 20), D(2026, 11, 23), "Friday -> Monday"),
        (D(2026, 11, 25), D(2026, 11, 27), "Thanksgiving Thursday skipped"),
        (D(2026, 4, 2), D(2026, 4, 6), "Good Friday skipped (NYSE opens Easter Monday)"),
        (D(2026, 7, 2), D(2026, 7, 6), "Independence Day observed on Friday 3 July"),
        (D(2026, 7, 31), D(2026, 8, 3), "month end on a Friday"),
        (D(2026, 10, 30), D(2026, 11, 2), "Friday month end, then the DST change"),
        (D(2026, 12, 31), D(2027, 1, 4), "year end: New Year's Day on Friday"),
    ],
)
def test_next_business_date(last: dt.date, expected: dt.date, why: str) -> None:
    info = next_after(BusinessDayTimetable(), last)
    assert business_date_of_info(BusinessDayTimetable(), info) == expected, why


# --- DST ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "offset_before", "offset_after"),
    [
        (D(2026, 3, 6), D(2026, 3, 9), -5, -4),  # clocks go forward Sunday 8 March
        (D(2026, 10, 30), D(2026, 11, 2), -4, -5),  # clocks go back Sunday 1 November
    ],
)
def test_dst_changes_keep_local_wall_clock_times(before, after, offset_before, offset_after) -> None:
    timetable = BusinessDayTimetable()
    first = interval_of(timetable, before)
    info = next_after(timetable, before)

    for start, offset in ((first.start, offset_before), (info.data_interval.start, offset_after)):
        assert start.in_timezone(NEW_YORK).time() == dt.time(0, 0)
        assert start.in_timezone(NEW_YORK).utcoffset() == dt.timedelta(hours=offset)
    assert business_date_of_info(timetable, info) == after
    assert info.data_interval.end == local(NEW_YORK, after.year, after.month, after.day + 1)
    assert info.run_after.in_timezone(NEW_YORK).time() == dt.time(18, 30)
    # The same local time is a different UTC hour on each side of the change.
    assert timetable.run_after_for(before).hour - info.run_after.hour == offset_after - offset_before


# --- first run, catchup, bounds -------------------------------------------------------------


def test_first_run_is_the_first_business_date_from_the_start_date() -> None:
    timetable = BusinessDayTimetable()
    # START_DATE is 1 January 2026, a holiday: the first business date is Friday 2 January.
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=CATCHUP_FROM_2026)
    assert business_date_of_info(timetable, info) == D(2026, 1, 2)


def test_a_start_date_during_a_business_day_starts_with_the_next_one() -> None:
    # Airflow creates no task instances for a scheduled run whose logical date is before
    # the start_date: the first interval must start at or after it.
    restriction = TimeRestriction(earliest=local(NEW_YORK, 2026, 11, 24, 10), latest=None, catchup=True)
    info = BusinessDayTimetable().next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info.logical_date == local(NEW_YORK, 2026, 11, 25)


def test_no_start_date_with_catchup_schedules_nothing() -> None:
    restriction = TimeRestriction(earliest=None, latest=None, catchup=True)
    info = BusinessDayTimetable().next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(NEW_YORK, 2026, 11, 25, 10), D(2026, 11, 24)),  # before the run time: yesterday
        (local(NEW_YORK, 2026, 11, 25, 18, 30), D(2026, 11, 25)),  # at the run time: today
        (local(NEW_YORK, 2026, 11, 26, 12), D(2026, 11, 25)),  # Thanksgiving: the day before
        (local(NEW_YORK, 2026, 11, 29, 12), D(2026, 11, 27)),  # Sunday: Friday
        (local(NEW_YORK, 2026, 11, 30, 2), D(2026, 11, 27)),  # Monday night: still Friday
    ],
)
def test_catchup_false_first_run_is_the_latest_complete_business_date(clock, now, expected) -> None:
    clock(now)
    timetable = BusinessDayTimetable()
    no_catchup = TimeRestriction(earliest=schedules.START_DATE, latest=None, catchup=False)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=no_catchup)
    assert business_date_of_info(timetable, info) == expected


def test_catchup_false_skips_missed_dates_and_catchup_true_does_not(clock) -> None:
    clock(local(NEW_YORK, 2026, 11, 25, 10))
    timetable = BusinessDayTimetable()
    last_run = D(2026, 11, 18)
    no_catchup = TimeRestriction(earliest=schedules.START_DATE, latest=None, catchup=False)

    assert business_date_of_info(timetable, next_after(timetable, last_run, no_catchup)) == D(2026, 11, 24)
    assert business_date_of_info(timetable, next_after(timetable, last_run)) == D(2026, 11, 19)


def test_catchup_false_after_the_latest_run_waits_for_the_next_close(clock) -> None:
    clock(local(NEW_YORK, 2026, 11, 25, 10))
    timetable = BusinessDayTimetable()
    no_catchup = TimeRestriction(earliest=schedules.START_DATE, latest=None, catchup=False)
    info = next_after(timetable, D(2026, 11, 24), no_catchup)
    assert info.run_after == local(NEW_YORK, 2026, 11, 25, 18, 30)


def test_end_date_stops_the_schedule() -> None:
    timetable = BusinessDayTimetable()
    end_date = local(NEW_YORK, 2026, 11, 30, 12)
    end = TimeRestriction(earliest=schedules.START_DATE, latest=end_date, catchup=True)
    assert next_after(timetable, D(2026, 11, 27), end).logical_date == local(NEW_YORK, 2026, 11, 30)
    assert next_after(timetable, D(2026, 11, 30), end) is None


def test_a_backfill_range_of_bare_dates_yields_exactly_its_business_dates_in_order() -> None:
    # `airflow backfill create --from-date 2026-11-20 --to-date 2026-12-01` sends UTC midnights;
    # 1 December 00:00 UTC is still 30 November in New York, yet 1 December is included.
    dates = schedule_between(
        BusinessDayTimetable(), pendulum.datetime(2026, 11, 20), pendulum.datetime(2026, 12, 1)
    )
    assert dates == [D(2026, 11, 20), D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25), D(2026, 11, 27),
                     D(2026, 11, 30), D(2026, 12, 1)]  # fmt: skip


def test_a_backfill_range_given_in_local_time_means_the_same_dates() -> None:
    dates = schedule_between(
        BusinessDayTimetable(), local(NEW_YORK, 2026, 11, 20), local(NEW_YORK, 2026, 12, 1)
    )
    assert dates[0] == D(2026, 11, 20)
    assert dates[-1] == D(2026, 12, 1)
    assert len(dates) == 7


def test_a_backfill_through_the_serialized_dag_lists_business_dates(tmp_path) -> None:
    """The path Airflow's backfill takes: the DAG serialized (the timetable found among the
    registered plugin timetables), deserialized, then iter_dagrun_infos_between."""
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("uses_business_days", schedule=BusinessDayTimetable(), start_date=schedules.START_DATE) as dag:
        pass
    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    infos = list(
        serialized.iter_dagrun_infos_between(pendulum.datetime(2026, 11, 20), pendulum.datetime(2026, 11, 30))
    )
    assert [info.logical_date.in_timezone(NEW_YORK).date() for info in infos] == [
        D(2026, 11, 20), D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25), D(2026, 11, 27), D(2026, 11, 30),
    ]  # fmt: skip
    assert serialized.timetable == BusinessDayTimetable()


# --- manual runs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logical_date", "expected", "why"),
    [
        (pendulum.datetime(2026, 11, 24), D(2026, 11, 24), "a bare date (midnight UTC) names that date"),
        (local(NEW_YORK, 2026, 11, 24), D(2026, 11, 24), "local midnight: the scheduled logical date"),
        (local(NEW_YORK, 2026, 11, 24, 21), D(2026, 11, 24), "an instant: its New York date"),
        (pendulum.datetime(2026, 11, 26), D(2026, 11, 25), "Thanksgiving: the business date before"),
        (local(NEW_YORK, 2026, 11, 29, 9), D(2026, 11, 27), "Sunday: Friday"),
    ],
)
def test_manual_run_processes_the_business_date_containing_or_preceding_its_logical_date(
    logical_date, expected, why
) -> None:
    timetable = BusinessDayTimetable()
    interval = timetable.infer_manual_data_interval(run_after=logical_date)
    assert interval == timetable.data_interval_for(expected), why


def test_rerunning_a_scheduled_runs_logical_date_gives_the_same_interval() -> None:
    for timetable in (BusinessDayTimetable(), BusinessDayTimetable("XLON", LONDON)):
        info = next_after(timetable, D(2026, 6, 15))
        assert timetable.infer_manual_data_interval(run_after=info.logical_date) == info.data_interval


# --- UI texts, validation ----------------------------------------------------------


def test_summary_and_description_read_in_business_terms() -> None:
    assert BusinessDayTimetable().summary == "XNYS business days, 18:30 America/New_York"
    assert "weekends and XNYS holidays skipped" in BusinessDayTimetable().description
    weekly = WeeklyBusinessDayTimetable()
    assert weekly.summary == "XNYS last business day of the week, 18:30 America/New_York"
    assert "Thursday when Friday is a holiday" in weekly.description


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calendar": "XXXX"}, "unknown calendar 'XXXX'"),
        ({"timezone": "America/Nowhere"}, "unknown timezone 'America/Nowhere'"),
        ({"run_time": "6:30pm"}, "run_time must be a time or 'HH:MM'"),
    ],
)
def test_invalid_arguments_are_refused_with_the_rule(kwargs, message) -> None:
    with pytest.raises(AirflowTimetableInvalid, match=message):
        BusinessDayTimetable(**kwargs)


# --- serialization and registration ---------------------------------------------------------


@pytest.mark.parametrize(
    "timetable",
    [
        BusinessDayTimetable(),
        BusinessDayTimetable("XLON", LONDON, "17:45"),
        BusinessDayTimetable("XECB", "Europe/Berlin", dt.time(19, 0, 30)),
        WeeklyBusinessDayTimetable(),
    ],
)
def test_serialization_round_trip(timetable) -> None:
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    assert type(timetable).deserialize(timetable.serialize()) == timetable
    # Through Airflow's encoder: the type is the plugin's qualified name, and decoding finds
    # the class among the registered plugin timetables (as the scheduler does).
    encoded = encode_timetable(timetable)
    assert encoded["__type"] == f"business_day_timetable.{type(timetable).__name__}"
    decoded = decode_timetable(encoded)
    assert decoded == timetable
    assert decoded.summary == timetable.summary


def test_the_plugin_registers_both_timetables_under_the_module_path_dags_import() -> None:
    from airflow import plugins_manager

    registered = plugins_manager.get_timetables_plugins()
    assert registered["business_day_timetable.BusinessDayTimetable"].__name__ == "BusinessDayTimetable"
    weekly = registered["business_day_timetable.WeeklyBusinessDayTimetable"]
    assert weekly.__name__ == "WeeklyBusinessDayTimetable"


def test_weekly_and_daily_timetables_are_not_equal() -> None:
    assert WeeklyBusinessDayTimetable() != BusinessDayTimetable()
    assert BusinessDayTimetable("XLON", LONDON) != BusinessDayTimetable()
    assert hash(BusinessDayTimetable()) == hash(BusinessDayTimetable())


# --- the weekly variant ---------------------------------------------------------------------


def test_weekly_runs_on_the_last_business_day_of_each_week() -> None:
    dates = schedule_between(
        WeeklyBusinessDayTimetable(), local(NEW_YORK, 2026, 3, 23), local(NEW_YORK, 2026, 4, 17)
    )
    # Good Friday (3 April) is closed: that week's run is Thursday 2 April.
    assert dates == [D(2026, 3, 27), D(2026, 4, 2), D(2026, 4, 10), D(2026, 4, 17)]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (D(2026, 6, 26), D(2026, 7, 2)),  # Independence Day observed Friday 3 July
        (D(2026, 11, 20), D(2026, 11, 27)),  # Thanksgiving week: Friday is open
        (D(2026, 12, 18), D(2026, 12, 24)),  # Christmas Day on Friday
        (D(2026, 12, 24), D(2026, 12, 31)),  # New Year's Day 2027 on Friday
    ],
)
def test_weekly_around_holidays(last, expected) -> None:
    timetable = WeeklyBusinessDayTimetable()
    info = next_after(timetable, last)
    assert business_date_of_info(timetable, info) == expected
    assert info.data_interval == timetable.data_interval_for(expected)  # still one business date


def test_weekly_catchup_false_takes_the_latest_complete_week(clock) -> None:
    clock(local(NEW_YORK, 2026, 4, 3, 12))  # Good Friday
    timetable = WeeklyBusinessDayTimetable()
    no_catchup = TimeRestriction(earliest=schedules.START_DATE, latest=None, catchup=False)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=no_catchup)
    assert business_date_of_info(timetable, info) == D(2026, 4, 2)


def test_weekly_manual_run_uses_the_latest_business_date_not_last_weeks() -> None:
    timetable = WeeklyBusinessDayTimetable()
    interval = timetable.infer_manual_data_interval(run_after=local(NEW_YORK, 2026, 4, 1, 9))
    assert interval == timetable.data_interval_for(D(2026, 4, 1))


# --- a non-New York calendar ----------------------------------------------------------------


def test_london_skips_easter_and_the_boxing_day_observed_but_not_thanksgiving() -> None:
    london = BusinessDayTimetable("XLON", LONDON)
    assert schedule_between(london, local(LONDON, 2026, 4, 2), local(LONDON, 2026, 4, 8)) == [
        D(2026, 4, 2), D(2026, 4, 7), D(2026, 4, 8),
    ]  # fmt: skip
    assert business_date_of_info(london, next_after(london, D(2026, 11, 25))) == D(2026, 11, 26)
    assert business_date_of_info(london, next_after(london, D(2026, 12, 24))) == D(2026, 12, 29)


def test_london_intervals_follow_british_summer_time() -> None:
    london = BusinessDayTimetable("XLON", LONDON, "18:00")
    winter = london.data_interval_for(D(2026, 3, 27))  # Friday, GMT
    info = next_after(london, D(2026, 3, 27))  # clocks go forward Sunday 29 March
    assert winter.start == pendulum.datetime(2026, 3, 27, 0, 0)
    assert info.data_interval.start == pendulum.datetime(2026, 3, 29, 23, 0)  # Monday 00:00 BST
    assert info.run_after == pendulum.datetime(2026, 3, 30, 17, 0)  # 18:00 BST
    # A bare UTC date still names the London business date, in summer too.
    interval = london.infer_manual_data_interval(run_after=pendulum.datetime(2026, 6, 15))
    assert interval.start == local(LONDON, 2026, 6, 15)
