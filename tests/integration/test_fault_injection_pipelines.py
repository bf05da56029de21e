"""Fault injection in the reconciliation, on the real stack: PostgreSQL restarted while the
reconciliation replaces a date's breaks, and Airflow's scheduler killed (with every process
under it, as a pod's end takes them: the LocalExecutor's workers, their task supervisors and
the tasks, which Airflow puts in process groups of their own) in the middle of a
trade_reconciliation run.

Each asserts what the scoring faults assert (tests/integration/model/test_fault_injection.py):
nothing a reader sees changes while the fault lasts, the faulted work never counts as a
success, and once the stack is back a rerun (or the scheduler's own recovery) gives the same
outputs: the same rows, the same report objects, the same summary message for the date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from settlement_model import timeouts

from devstack import airflow
from devstack.config import Stack
from devstack.process import recorded_pid
from devstack.stack_env import kafka_client_of
from include.markets_ops.reconciliation.breaks import reconcile
from include.markets_ops.services.topics import RECON_SUMMARY
from tests.integration.pipeline_stack import s3_objects
from tests.support.faults import kill_process_tree, report, service_pid, service_stopped, timed, wait_for
from tests.support.kafka_messages import read_topic
from tests.support.warehouse_scenarios import DATE_RANGES, Scenario, Trade, clear_dates, connect

FAULT_DAY = dt.date(2031, 9, 9)
BREAKS = (
    "SELECT trade_ref, break_type, status, first_seen_date, age_business_days, counterparty_id"
    " FROM reporting.recon_breaks WHERE business_date = %s ORDER BY 1, 2"
)
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def writer(stack: dict[str, str]):
    """The pipelines' warehouse connection, with the module's date range cleared before and after."""
    with connect(stack["POSTGRES_URL"]) as conn:
        clear_dates(conn, *DATE_RANGES["faults"])
        settle = FAULT_DAY + dt.timedelta(days=1)
        matched, short, missing = (Trade(f"FI-{n}", FAULT_DAY, settle) for n in ("OK", "QTY", "MISS"))
        Scenario(
            trades=[matched, short, missing],
            confirmations=[
                matched.confirmation(FAULT_DAY),
                short.confirmation(FAULT_DAY, quantity=Decimal("10")),
            ],
        ).load(conn)
        yield conn
    with connect(stack["POSTGRES_URL"]) as conn:
        clear_dates(conn, *DATE_RANGES["faults"])


def breaks_checksum(database_url: str) -> tuple[int, str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(BREAKS, (FAULT_DAY,)).fetchall()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def _insert_waiting_for_a_lock(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            # pg_stat_activity keeps the query's first 1 kB: insert_breaks.sql's opening comment.
            ("%Reconcile business date D%",),
        ).fetchone()
    return bool(row and row[0])


def test_postgres_restarted_while_the_reconciliation_replaces_the_dates_breaks(
    stack: dict[str, str], writer: Any
) -> None:
    """The owner holds the custodian statements locked, so the reconciliation has deleted the
    date's breaks (inside its transaction) and waits to insert the new ones when PostgreSQL
    restarts under it: its transaction is gone, and the date's breaks with it never were."""
    reconcile(writer, FAULT_DAY)
    before = breaks_checksum(stack["POSTGRES_URL"])
    assert before[0] == 2  # the short confirmation and the missing one

    owner = psycopg.connect(stack["WAREHOUSE_OWNER_URL"])
    owner.execute("LOCK TABLE ops.custodian_confirmations IN ACCESS EXCLUSIVE MODE")
    with ThreadPoolExecutor(1) as pool, psycopg.connect(stack["POSTGRES_URL"]) as victim:
        writing = pool.submit(timed, lambda: reconcile(victim, FAULT_DAY))
        try:
            waiting = lambda: _insert_waiting_for_a_lock(stack["POSTGRES_URL"])  # noqa: E731
            wait_for(waiting, 60, "the reconciliation waits to insert")
            with service_stopped("postgres"):
                pass
        finally:
            owner.close()
        outcome = writing.result(timeout=timeouts.TRY_BUDGET_SECONDS)
    report("postgres restarted during the reconciliation write", outcome)
    assert isinstance(outcome.error, psycopg.OperationalError), repr(outcome.error)
    assert "terminat" in str(outcome.error)  # "terminating connection due to administrator command"
    assert outcome.seconds < timeouts.TRY_BUDGET_SECONDS
    assert breaks_checksum(stack["POSTGRES_URL"]) == before

    with psycopg.connect(stack["POSTGRES_URL"]) as rerun:
        reconcile(rerun, FAULT_DAY)
    assert breaks_checksum(stack["POSTGRES_URL"]) == before


def _summaries(stack: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    key = FAULT_DAY.isoformat()
    return read_topic(kafka_client_of(stack, "reader"), RECON_SUMMARY.name, lambda k: k == key)


def _outputs(stack: dict[str, str]) -> tuple[Any, ...]:
    """Rows, report objects (digests) and the date's latest summary message."""
    prefix = f"reports/recon/business_date={FAULT_DAY.isoformat()}/"
    objects = {key: hashlib.sha256(body).hexdigest() for key, body in s3_objects(stack, prefix).items()}
    summaries = _summaries(stack)
    return breaks_checksum(stack["POSTGRES_URL"]), objects, summaries[-1][1] if summaries else None


def _run(api: Any) -> str:
    api.wait_for_dag("trade_reconciliation")
    api.unpause("trade_reconciliation")
    return str(api.trigger("trade_reconciliation", None, conf={"business_date": FAULT_DAY.isoformat()}))


def test_the_scheduler_killed_mid_run_never_turns_into_a_false_success(
    airflow_api: Any, stack: dict[str, str], writer: Any
) -> None:
    first = _run(airflow_api)
    assert airflow_api.wait_for_run("trade_reconciliation", first, timeout=600)["state"] == "success"
    baseline = _outputs(stack)
    messages_before = len(_summaries(stack))

    run_id = _run(airflow_api)

    def a_task_is_running() -> str | None:
        running = [
            ti["task_id"]
            for ti in airflow_api.task_instances("trade_reconciliation", run_id)
            if ti["state"] == "running"
        ]
        return running[0] if running else None

    task_id = wait_for(a_task_is_running, 300, "a task of the run is running")
    killed = kill_process_tree(service_pid("airflow-scheduler"))
    killed_at = dt.datetime.now(dt.UTC)
    try:
        # SIGKILL is not instant: until the process is gone, `start` would take it for running.
        wait_for(lambda: recorded_pid("airflow-scheduler") is None, 30, "the killed scheduler is gone")
    finally:
        airflow.start(Stack.load())  # as a supervisor would (systemd, the scheduler's Deployment)

    run = airflow_api.wait_for_run("trade_reconciliation", run_id, timeout=600)
    recovered = (dt.datetime.now(dt.UTC) - killed_at).total_seconds()
    print(
        f"\n  fault scheduler killed during {task_id} ({killed} processes):"
        f" the run ended {run['state']} after {recovered:.0f} s"
    )
    tries = airflow_api.task_tries("trade_reconciliation", run_id, task_id)
    # The try that was running when its worker died never counts as done: it failed or was reset
    # and ran again; the run ends with the same outputs as a clean run, or fails for a rerun.
    assert run["state"] in ("success", "failed")
    if run["state"] == "failed":
        run_id = _run(airflow_api)
        assert airflow_api.wait_for_run("trade_reconciliation", run_id, timeout=600)["state"] == "success"
    killed_try = next(
        t for t in tries if t["start_date"] and dt.datetime.fromisoformat(t["start_date"]) < killed_at
    )
    if killed_try["state"] == "success":  # it had finished just before the kill
        assert dt.datetime.fromisoformat(killed_try["end_date"]) <= killed_at
    assert _outputs(stack) == baseline
    # No summary lost: at least the rerun's, each one the same event for the date.
    summaries = _summaries(stack)[messages_before:]
    assert summaries
    assert all(value == baseline[2] for _, value in summaries)
