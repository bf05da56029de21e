"""Scenarios of tests/features/reconciliation_and_alerts.feature, through the Airflow REST API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from devstack.stack_env import kafka_client_of
from include.markets_ops import calendars
from include.markets_ops.services.topics import OPS_ALERTS, RECON_SUMMARY
from tests.support.kafka_messages import read_topic
from tests.support.warehouse_scenarios import DATE_RANGES, Outcome, Scenario, Trade, clear_dates, connect

scenarios("reconciliation_and_alerts.feature")

# Thursday, Friday, then Tuesday after the weekend and Labor Day (Monday 5 September 2033).
NIGHTS = (dt.date(2033, 9, 1), dt.date(2033, 9, 2), dt.date(2033, 9, 6))
SPIKE_NIGHTS = (dt.date(2033, 11, 1), dt.date(2033, 11, 2))
BREAK = ("ACC-BREAK", "quantity_mismatch")


@pytest.fixture
def warehouse(stack: dict[str, str]):
    with connect(stack["POSTGRES_URL"]) as conn:
        for name in ("acceptance_aging", "acceptance_alerts"):
            clear_dates(conn, *DATE_RANGES[name])
        yield conn
        for name in ("acceptance_aging", "acceptance_alerts"):
            clear_dates(conn, *DATE_RANGES[name])


def _run_dag(api: Any, dag_id: str, day: dt.date) -> str:
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, logical_date=None, conf={"business_date": day.isoformat()})
    run = api.wait_for_run(dag_id, run_id, timeout=600)
    assert run["state"] == "success", api.failed_tasks_summary(dag_id, run_id)
    return run_id


# --------------------------------------------------------------------------- aging


@given("three business days with a break that persists two days")
def break_persisting_two_days(warehouse: Any) -> None:
    trade = Trade(BREAK[0], NIGHTS[0], dt.date(2033, 9, 20))
    Scenario(
        trades=[trade],
        confirmations=[
            trade.confirmation(NIGHTS[0], quantity=Decimal("900")),
            trade.confirmation(NIGHTS[1], quantity=Decimal("900")),
            trade.confirmation(NIGHTS[2]),  # the custodian corrected it
        ],
    ).load(warehouse)


@when("reconciliation runs each night through Airflow", target_fixture="nights")
def reconcile_each_night(airflow_api: Any, warehouse: Any) -> dict[dt.date, dict[str, Any]]:
    nights = {}
    for night in NIGHTS:
        _run_dag(airflow_api, "trade_reconciliation", night)
        row = warehouse.execute(
            "SELECT status, first_seen_date, age_business_days, resolved_date FROM reporting.recon_breaks "
            "WHERE business_date = %s AND trade_ref = %s AND break_type = %s",
            [night, *BREAK],
        ).fetchone()
        warehouse.commit()
        nights[night] = dict(
            zip(("status", "first_seen_date", "age", "resolved_date"), row or (), strict=False)
        )
    return nights


@then("the break is open on the first night, new")
def open_and_new(nights: dict[dt.date, dict[str, Any]]) -> None:
    assert nights[NIGHTS[0]] == {
        "status": "open",
        "first_seen_date": NIGHTS[0],
        "age": 0,
        "resolved_date": None,
    }


@then("it is still open on the second night, one business day old, first seen on the first night")
def still_open(nights: dict[dt.date, dict[str, Any]]) -> None:
    assert nights[NIGHTS[1]] == {
        "status": "open",
        "first_seen_date": NIGHTS[0],
        "age": 1,
        "resolved_date": None,
    }


@then("it is resolved on the third night")
def resolved(nights: dict[dt.date, dict[str, Any]]) -> None:
    # Two business days after it was first seen: the weekend and Labor Day do not count.
    assert nights[NIGHTS[2]] == {
        "status": "resolved",
        "first_seen_date": NIGHTS[0],
        "age": 2,
        "resolved_date": NIGHTS[2],
    }


@then("every night has its report in S3 and its summary event in Kafka")
def reports_published(stack: dict[str, str], nights: dict[dt.date, dict[str, Any]]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
        region_name=stack["AWS_DEFAULT_REGION"],
    )
    keys = {night.isoformat() for night in nights}
    events = dict(read_topic(kafka_client_of(stack, "reader"), RECON_SUMMARY.name, keys.__contains__))
    for night in nights:
        prefix = f"reports/recon/business_date={night.isoformat()}/"
        page = (
            client.get_object(Bucket=stack["S3_BUCKET"], Key=f"{prefix}report.html")["Body"].read().decode()
        )
        assert "<svg" in page
        assert (
            events[night.isoformat()]["report"]["report.html"]
            == f"s3://{stack['S3_BUCKET']}/{prefix}report.html"
        )
    assert events[NIGHTS[2].isoformat()]["resolved_by_type"]["quantity_mismatch"] >= 1


# --------------------------------------------------------------------------- alerts


@given(
    parsers.parse(
        "a counterparty whose settlement fails jump far above its usual level on two nights in a row"
    )
)
def fail_spike(warehouse: Any) -> None:
    trades, outcomes = [], []
    for n in range(1, 21):
        day = calendars.add_business_days(SPIKE_NIGHTS[0], -n, "XNYS")
        if n % 5 == 0:  # one fail a week, usually
            trades.append(Trade(f"ACC-F-{day:%m%d}", day, day, counterparty_id="TCP-DELTA"))
    for night in SPIKE_NIGHTS:
        trades += [
            Trade(f"ACC-F-{night:%m%d}-{i}", night, night, counterparty_id="TCP-DELTA") for i in range(9)
        ]
    outcomes = [Outcome(t.trade_id, t.business_date, "failed", "counterparty_lacks_cash") for t in trades]
    Scenario(trades=trades, outcomes=outcomes).load(warehouse)


@when("the alert DAG runs through Airflow on each of the two nights", target_fixture="spike_alerts")
def run_alerts(airflow_api: Any, warehouse: Any) -> dict[dt.date, tuple[Any, ...]]:
    alerts = {}
    for night in SPIKE_NIGHTS:
        _run_dag(airflow_api, "ops_sql_alerts", night)
        alerts[night] = warehouse.execute(
            "SELECT is_new, first_raised_date, details FROM reporting.alerts "
            "WHERE rule_id = 'failed_settlement_spike' AND business_date = %s AND entity_key = 'TCP-DELTA'",
            [night],
        ).fetchone()
        warehouse.commit()
    return alerts


@then("the first night raises a new alert for the counterparty and publishes it to Kafka")
def first_night(spike_alerts: dict[dt.date, tuple[Any, ...]], stack: dict[str, str]) -> None:
    is_new, first_raised, details = spike_alerts[SPIKE_NIGHTS[0]]
    assert (is_new, first_raised) == (True, SPIKE_NIGHTS[0])
    assert details["fails_today"] == 9
    messages = read_topic(
        kafka_client_of(stack, "reader"), OPS_ALERTS.name, lambda k: k == "failed_settlement_spike:TCP-DELTA"
    )
    assert any(value["business_date"] == SPIKE_NIGHTS[0].isoformat() for _, value in messages)


@then("the second night keeps the alert open without raising it again")
def second_night(spike_alerts: dict[dt.date, tuple[Any, ...]], stack: dict[str, str]) -> None:
    is_new, first_raised, _ = spike_alerts[SPIKE_NIGHTS[1]]
    assert (is_new, first_raised) == (False, SPIKE_NIGHTS[0])
    messages = read_topic(
        kafka_client_of(stack, "reader"), OPS_ALERTS.name, lambda k: k == "failed_settlement_spike:TCP-DELTA"
    )
    assert not any(value["business_date"] == SPIKE_NIGHTS[1].isoformat() for _, value in messages)
