"""
### Business calendar heartbeat

**Owner:** data-platform

**What it does.** Runs on the nightly schedule itself (the business-day timetable: after the
close of every XNYS business day, 18:30 New York) and touches no service: it checks that the
run's business date is a business day of the operations calendar and logs the previous and
next business days and the exchange closures of the next 30 days. Its run list is the list
of business dates the scheduler produced, so a gap there is a schedule problem, not a data
problem, and the night shift sees the coming closures (no nightly run on those dates).

**Inputs and outputs.** Input: the run's business date (its data interval, or the
`business_date` param of a manual run). Output: the description, as the task's return value
(XCom) and in its log. Nothing is written elsewhere.

**How to triage.** A business date missing from the run list: check `make status`, the
scheduler and dag-processor logs (`var/log/airflow-*.log`) for "Timetable class ... is not
registered" or errors from `business_day_timetable`, and the UI's import errors. A failed run
(`business-date-is-a-business-day`): the date is a closure of the calendar, either a run
created by hand for a holiday, or the `holidays` package changed the calendar under an
existing run; compare with the exchange's published holiday list.

**How to rerun.** Clear the run in the UI, trigger it with a `business_date`, or rerun a range
through the backfill:
`airflow backfill create --dag-id business_calendar_heartbeat --from-date 2026-11-20
--to-date 2026-12-01 --reprocess-behavior completed` (dates are business dates, see
docs/schedules.md). Every run only reads the calendar.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from business_day_timetable import BusinessDayTimetable
from include.markets_ops.airflow import params, schedules
from include.markets_ops.airflow.defaults import Owner, Tag, default_args


@dag(
    schedule=BusinessDayTimetable(),
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.NIGHTLY, Tag.PLATFORM],
    default_args=default_args(Owner.DATA_PLATFORM),
    max_active_runs=2,
    params={params.BUSINESS_DATE: params.business_date_param()},
)
def business_calendar_heartbeat() -> None:
    @task
    def check_business_date(**context) -> dict:
        from include.markets_ops.checks import tasks

        return tasks.check_business_date(context)

    check_business_date()


business_calendar_heartbeat()
