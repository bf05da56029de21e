"""The nightly schedule switch on the real stack: with ``nightly_schedule_enabled`` false
(as for the whole test session, tests/integration/conftest.py), the asset events that would
start the reconciliation start a run that skips itself and writes nothing."""

from __future__ import annotations

import time

DAG_ID = "trade_reconciliation"
BUSINESS_DATE = "2026-09-03"


def asset_id(airflow_api, name: str) -> int:
    assets = airflow_api.request("GET", "/assets", params={"name_pattern": name})["assets"]
    return next(asset["id"] for asset in assets if asset["name"] == name)


def wait_for_new_asset_triggered_run(airflow_api, known: set[str], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = airflow_api.request(
            "GET", f"/dags/{DAG_ID}/dagRuns", params={"run_type": "asset_triggered", "limit": 100}
        )["dag_runs"]
        new = [run["dag_run_id"] for run in runs if run["dag_run_id"] not in known]
        if new:
            return new[0]
        time.sleep(2)
    raise AssertionError(f"no asset-triggered {DAG_ID} run within {timeout:.0f}s")


def test_an_asset_triggered_run_skips_itself_while_the_schedule_is_off(airflow_api, stack) -> None:
    import psycopg

    from include.markets_ops.airflow.switch import SWITCH_VARIABLE

    assert airflow_api.get_variable(SWITCH_VARIABLE) == "false"
    airflow_api.wait_for_dag(DAG_ID)
    airflow_api.unpause(DAG_ID)
    known = {
        run["dag_run_id"]
        for run in airflow_api.request(
            "GET", f"/dags/{DAG_ID}/dagRuns", params={"run_type": "asset_triggered", "limit": 100}
        )["dag_runs"]
    }
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        before = reader.execute(
            "SELECT count(*) FROM reporting.recon_breaks WHERE business_date = %s", [BUSINESS_DATE]
        ).fetchone()
    # Every input of the reconciliation's asset condition, as the feed would emit them.
    for name in ("ops.trades", "ops.settlement_outcomes", "ops.custodian_confirmations"):
        airflow_api.request(
            "POST",
            "/assets/events",
            json={"asset_id": asset_id(airflow_api, name), "extra": {"business_date": BUSINESS_DATE}},
        )
    run_id = wait_for_new_asset_triggered_run(airflow_api, known)
    run = airflow_api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = {ti["task_id"]: ti["state"] for ti in airflow_api.task_instances(DAG_ID, run_id)}
    assert run["state"] == "success"
    assert states["nightly_switch"] == "success"
    assert {task: state for task, state in states.items() if task != "nightly_switch"} == {
        "reconcile": "skipped",
        "publish_report": "skipped",
        "publish_summary": "skipped",
    }
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        after = reader.execute(
            "SELECT count(*) FROM reporting.recon_breaks WHERE business_date = %s", [BUSINESS_DATE]
        ).fetchone()
    assert after == before
