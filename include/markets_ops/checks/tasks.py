"""The tasks of the platform's check DAGs, named as them: ``stack_smoke`` (one round trip through
each service, with the pipelines' own connections and clients: stack.py) and
``business_calendar_heartbeat`` (the run's business date checked against the operations
calendar). The only module of the checks that sees the Airflow context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.airflow import connections
from include.markets_ops.airflow.business_date import resolve_business_date
from include.markets_ops.checks import stack
from include.markets_ops.services import postgres

# --------------------------------------------------------------------------- stack_smoke


def warehouse_as_writer() -> dict[str, Any]:
    return stack.check_postgres(connections.connect_postgres(postgres.WAREHOUSE_CONN_ID))


def warehouse_as_reader() -> dict[str, Any]:
    return stack.check_postgres(connections.connect_postgres(postgres.REPORTING_CONN_ID))


def s3_round_trip(context: Mapping[str, Any]) -> dict[str, Any]:
    return stack.check_s3(connections.s3_client(), connections.s3_bucket(), str(context["run_id"]))


def kafka_round_trip(context: Mapping[str, Any]) -> dict[str, Any]:
    return stack.check_kafka(connections.kafka_config(), str(context["run_id"]))


def mlflow_round_trip(context: Mapping[str, Any]) -> dict[str, Any]:
    return stack.check_mlflow(connections.mlflow_client(), str(context["run_id"]))


# --------------------------------------------------------------------------- business_calendar_heartbeat


def check_business_date(context: Mapping[str, Any]) -> dict[str, Any]:
    """The run's business date described (neighbours, closures ahead); a date that is not a
    business day of the operations calendar fails without retries (NotABusinessDateError is
    bad input: a retry cannot change the calendar)."""
    business_date = resolve_business_date(context)
    return calendars.check_business_date(business_date, calendars.OPERATIONS_CALENDAR)
