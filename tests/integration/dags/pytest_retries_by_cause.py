"""A DAG for tests/integration/test_retries_by_cause.py only (never in the stack's dags folder):
one task per cause of failure, with the project's default_args; only the delay between tries is
shortened to 1 s (doubling), so that three tries take seconds."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task

from include.markets_ops.airflow.defaults import Owner, default_args

with DAG(
    "pytest_retries_by_cause",
    schedule=None,
    catchup=False,
    default_args={**default_args(Owner.DATA_PLATFORM), "retry_delay": dt.timedelta(seconds=1)},
    params={"database_url": ""},
):

    @task
    def refused_date() -> None:
        from include.markets_ops import calendars

        raise calendars.NotABusinessDateError("2026-10-31 is not a XNYS business day (Saturday)")

    @task
    def warehouse_times_out(params: dict | None = None) -> None:
        import psycopg

        # A real error of the stack's PostgreSQL: cancelled by its statement_timeout.
        with psycopg.connect(params["database_url"], options="-c statement_timeout=50") as conn:
            conn.execute("SELECT pg_sleep(1)")

    @task
    def a_bug() -> None:
        raise KeyError("no such column in the report")

    refused_date()
    warehouse_times_out()
    a_bug()
