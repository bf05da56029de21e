"""Scenarios of tests/features/feed_quarantine.feature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from pytest_bdd import given, scenarios, then, when

from include.markets_ops.synthetic import daily
from include.markets_ops.synthetic.config import GeneratorConfig
from tests.integration.feed_stack import FEED_DAG, asset_events, day_state, ensure_history

scenarios("feed_quarantine.feature")

BAD_ROW_RATE = 0.01  # five times the default: a few hundred malformed rows


@dataclass
class Day:
    world: GeneratorConfig
    business_date: Any
    clean: daily.DayData


@given("a business day of trades with malformed rows", target_fixture="day")
def business_day(stack: dict[str, str]) -> Day:
    world, business_date = ensure_history(stack)
    return Day(world, business_date, daily.build_day(world, business_date))


@when("the feed runs for that business day through Airflow", target_fixture="run")
def feed_runs(airflow_api, day: Day) -> dict[str, Any]:
    airflow_api.wait_for_dag(FEED_DAG)
    airflow_api.unpause(FEED_DAG)
    run_id = airflow_api.trigger(
        FEED_DAG,
        logical_date=None,
        conf={"business_date": day.business_date.isoformat(), "bad_row_rate": BAD_ROW_RATE},
    )
    return airflow_api.wait_for_run(FEED_DAG, run_id, timeout=600)


@then("the run succeeds")
def run_succeeded(airflow_api, run: dict[str, Any]) -> None:
    assert run["state"] == "success", airflow_api.failed_tasks_summary(FEED_DAG, run["dag_run_id"])


@then("every good row is loaded into the warehouse")
def good_rows_loaded(stack: dict[str, str], day: Day) -> None:
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        for table, key in (
            ("trades", "trade_id"),
            ("custodian_confirmations", "trade_ref"),
            ("settlement_outcomes", "trade_id"),
        ):
            loaded = {
                row[0]
                for row in reader.execute(
                    f"SELECT {key} FROM ops.{table} WHERE business_date = %s",
                    (day.business_date,),
                )
            }
            assert loaded == set(getattr(day.clean, table).column(key).to_pylist()), table


@then("each malformed row is quarantined with the rule it broke")
def bad_rows_quarantined(stack: dict[str, str], day: Day) -> None:
    state = day_state(stack, day.business_date)
    assert len(state["injected_bad_rows"]) > 100
    assert state["quarantine"] == state["injected_bad_rows"]
    rules = {rule for _, _, rule in state["quarantine"]}
    assert {
        "trade_id_missing",
        "quantity_not_positive",
        "currency_unknown",
        "counterparty_unknown",
        "settle_date_before_trade_date",
    } <= rules


@then("the trades, confirmations and outcomes assets carry the business date")
def assets_carry_the_date(airflow_api, run: dict[str, Any], day: Day) -> None:
    events = asset_events(airflow_api, run["dag_run_id"])
    assert {event["name"]: event["extra"]["business_date"] for event in events.values()} == {
        "ops.trades": day.business_date.isoformat(),
        "ops.custodian_confirmations": day.business_date.isoformat(),
        "ops.settlement_outcomes": day.business_date.isoformat(),
    }
