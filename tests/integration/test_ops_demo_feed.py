"""ops_demo_feed through Airflow's REST API on the stack: success, asset events carrying the
business date, a rerun that leaves exactly the same rows (quarantine not duplicated), and a
mostly bad file that fails its task at once, loads nothing, keeps its bad rows and publishes the
failure to ops.airflow.events."""

from __future__ import annotations

from urllib.parse import quote

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import AIRFLOW_EVENTS
from tests.integration.feed_stack import (
    FEED_DAG,
    asset_events,
    day_state,
    ensure_history,
    return_value,
    run_feed,
)
from tests.support.airflow_events import schema_errors
from tests.support.kafka_messages import read_topic


def test_the_feed_runs_and_a_rerun_changes_nothing(stack: dict[str, str], airflow_api) -> None:
    world, day = ensure_history(stack)

    first_run = run_feed(airflow_api, day)
    first = day_state(stack, day)
    second_run = run_feed(airflow_api, day)
    second = day_state(stack, day)

    assert first["trades"][0] == world.trades_per_day
    assert first["custodian_confirmations"][0] > 0
    assert first["settlement_outcomes"][0] > 0
    assert second == first  # same rows, same quarantine: nothing duplicated
    assert first["quarantine"] == first["injected_bad_rows"] != []

    counts = return_value(airflow_api, second_run["dag_run_id"], "report_counts")
    assert counts["business_date"] == day.isoformat()
    assert counts["sources"]["trades"]["loaded"] == world.trades_per_day
    assert counts["quarantined"] == len(first["quarantine"])

    for run in (first_run, second_run):
        events = asset_events(airflow_api, run["dag_run_id"])
        assert set(events) == {"load_trades", "load_custodian_confirmations", "load_settlement_outcomes"}
        assert {event["extra"]["business_date"] for event in events.values()} == {day.isoformat()}
        assert {event["name"] for event in events.values()} == {
            "ops.trades",
            "ops.custodian_confirmations",
            "ops.settlement_outcomes",
        }


def test_a_mostly_bad_file_fails_its_task_at_once_and_loads_nothing(
    stack: dict[str, str], airflow_api
) -> None:
    _, day = ensure_history(stack)
    run_feed(airflow_api, day)  # a good state of the date to compare with
    before = day_state(stack, day)

    run_id = airflow_api.trigger(
        FEED_DAG,
        logical_date=None,
        conf={"business_date": day.isoformat(), "bad_row_rate": 0.2, "max_bad_row_share": 0.05},
    )
    run = airflow_api.wait_for_run(FEED_DAG, run_id, timeout=600)
    assert run["state"] == "failed"
    tasks = {ti["task_id"]: ti for ti in airflow_api.task_instances(FEED_DAG, run_id)}
    assert tasks["load_trades"]["state"] == "failed"
    assert tasks["load_trades"]["try_number"] == 1  # bad input: the retry policy fails it at once
    assert tasks["load_custodian_confirmations"]["state"] == "upstream_failed"

    # The real failure callback's event, read back by a real consumer.
    events = read_topic(
        kafka_client_of(stack, "reader"),
        AIRFLOW_EVENTS.name,
        lambda key: key.startswith(f"{FEED_DAG}/{run_id}/"),
    )
    assert [key for key, _ in events] == [f"{FEED_DAG}/{run_id}/load_trades/-1/1"]
    event = events[0][1]
    assert event["event"] == "task_failed"
    assert schema_errors(event) == []  # the topic's one schema (docs/events.md)
    assert (event["dag_id"], event["task_id"], event["run_id"]) == (FEED_DAG, "load_trades", run_id)
    assert event["business_date"] == day.isoformat()
    assert event["try_number"] == 1
    assert event["exception_type"] == "TooManyBadRowsError"
    assert "broke validation rules" in event["error"]
    assert event["log_url"].startswith(stack["AIRFLOW_API_URL"])
    assert f"/dags/{FEED_DAG}/runs/{quote(run_id, safe='')}/tasks/load_trades" in event["log_url"]
    after = day_state(stack, day)
    assert after["trades"] == before["trades"]  # nothing of the bad file was merged
    quarantined_trades = [row for row in after["quarantine"] if row[0] == "trades"]
    assert len(quarantined_trades) > 0.1 * before["trades"][0]  # but its bad rows are kept for triage

    run_feed(airflow_api, day)  # and a good rerun restores the date
    assert day_state(stack, day) == before
