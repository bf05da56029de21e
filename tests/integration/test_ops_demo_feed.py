"""ops_demo_feed through Airflow's REST API on the stack: success, asset events carrying the
business date, and a rerun that leaves exactly the same rows (quarantine not duplicated)."""

from __future__ import annotations

from tests.integration.feed_stack import asset_events, day_state, ensure_history, return_value, run_feed


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
