"""Custodian statements on Kafka, end to end on the stack: the simulated custodians write their
files and announce them on ops.custodian.statements, the triggerer's watcher turns each message
into an asset event, and custodian_statements loads and reconciles each custodian's part of the
date. In the order of the tests (one module, one business date):

- out of order, one by one: each custodian's breaks appear as its statement lands; once all are
  in, the full reconciliation is announced, and it writes exactly the rows the custodians' runs
  wrote between them;
- a duplicate announcement loads nothing; a malformed message is quarantined with its rule and
  the watcher goes on with the next message;
- a statement that comes late (after the full run) replaces that custodian's rows and announces
  the date again;
- the triggerer restarted between two messages: the second message makes one run of its own,
  the first is not replayed (apache/airflow#64205).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
import pytest

from devstack import airflow
from devstack.config import Stack
from devstack.process import recorded_pid
from devstack.stack_env import kafka_client_of
from include.markets_ops.custodians import CUSTODIANS
from include.markets_ops.feed.landing import S3Store
from include.markets_ops.services import s3
from include.markets_ops.services.kafka import publish
from include.markets_ops.services.topics import CUSTODIAN_STATEMENTS
from include.markets_ops.statements.upstream import deliver_statements
from tests.integration.feed_stack import ensure_history, run_feed
from tests.support.faults import service_pid, wait_for

DAG = "custodian_statements"
RECONCILIATION = "trade_reconciliation"
OUT_OF_ORDER = ["EUROCLEAR", "CLSBANK", "BNYMELLON", "HSBCSS", "CLEARSTREAM"]


@pytest.fixture(scope="module")
def day(stack: dict[str, str], airflow_api: Any, nightly_schedule_switched_off: None) -> Iterator[dt.date]:
    """A business date whose trades and outcomes the feed loaded, with no custodian statement
    delivered yet and no breaks; the feed's date (tests/integration/feed_stack.py), so its
    state is the feed's again afterwards (the feed reloads the statement; the custodians'
    quarantined rows go)."""
    _, business_date = ensure_history(stack)
    run_feed(airflow_api, business_date)
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:
        owner.execute("DELETE FROM ops.statement_deliveries WHERE business_date = %s", (business_date,))
        owner.execute("DELETE FROM reporting.recon_breaks WHERE business_date = %s", (business_date,))
    for dag_id in (DAG, RECONCILIATION):
        airflow_api.wait_for_dag(dag_id)
        airflow_api.unpause(dag_id)
    airflow_api.reparse(DAG)  # its watcher starts now, not at the next periodic parse
    yield business_date
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:
        owner.execute(
            "DELETE FROM reporting.quarantine WHERE business_date = %s AND source LIKE 'statement/%%'",
            (business_date,),
        )
    run_feed(airflow_api, business_date)


def _deliver(stack: dict[str, str], business_date: dt.date, codes: Iterable[str], **kwargs: Any) -> None:
    settings = s3.S3Settings(
        stack["S3_ENDPOINT_URL"], stack["AWS_ACCESS_KEY_ID"], stack["AWS_SECRET_ACCESS_KEY"], "us-east-1"
    )
    with psycopg.connect(stack["UPSTREAM_FEED_URL"]) as upstream:
        deliver_statements(
            upstream,
            S3Store(s3.client(settings), stack["S3_BUCKET"]),
            kafka_client_of(stack, "custodians"),
            business_date,
            codes,
            topic=CUSTODIAN_STATEMENTS.name,
            **kwargs,
        )


def _query(stack: dict[str, str], sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:
        return owner.execute(sql, parameters).fetchall()


def _deliveries(stack: dict[str, str], business_date: dt.date) -> dict[str, tuple[Any, ...]]:
    rows = _query(
        stack,
        "SELECT custodian, sha256, quarantined_rows, kafka_offset, dag_run_id "
        "FROM ops.statement_deliveries WHERE business_date = %s",
        business_date,
    )
    return {row[0]: row[1:] for row in rows}


def _breaks(stack: dict[str, str], business_date: dt.date) -> list[tuple[Any, ...]]:
    return _query(
        stack,
        "SELECT trade_ref, break_type, status, first_seen_date, age_business_days, counterparty_id, "
        "instrument_id, internal_value, custodian_value, notional "
        "FROM reporting.recon_breaks WHERE business_date = %s ORDER BY trade_ref, break_type",
        business_date,
    )


def _handled(stack: dict[str, str], key: str) -> int:
    """How many messages of ``key`` a run has handled (ops.statement_messages)."""
    return int(_query(stack, "SELECT count(*) FROM ops.statement_messages WHERE message_key = %s", key)[0][0])


def _runs(airflow_api: Any) -> list[dict[str, Any]]:
    runs = airflow_api.request("GET", f"/dags/{DAG}/dagRuns", params={"order_by": "run_after", "limit": 100})
    return list(runs["dag_runs"])


def _settled(airflow_api: Any, runs_before: int, timeout: float = 300) -> list[dict[str, Any]]:
    """This test's new runs, once at least one exists and every run has finished."""

    def finished() -> list[dict[str, Any]] | None:
        runs = _runs(airflow_api)
        new = runs[runs_before:]
        done = new and all(run["state"] in ("success", "failed") for run in runs)
        return new if done else None

    return list(wait_for(finished, timeout, f"{DAG}: new runs finished"))


def _quiet(airflow_api: Any, seconds: float = 15) -> None:
    """No run unfinished and none created for ``seconds``: a message published just before has
    had its asset event and its run (the triggerer, then the scheduler, take a few seconds)."""
    since: dict[int, float] = {}

    def still() -> bool:
        runs = _runs(airflow_api)
        if not all(run["state"] in ("success", "failed") for run in runs):
            since.clear()
            return False
        first_seen = since.setdefault(len(runs), time.monotonic())
        return time.monotonic() - first_seen >= seconds

    wait_for(still, 300, f"{DAG}: no new or unfinished run for {seconds:g} s")


def _outcomes(airflow_api: Any, run_id: str) -> list[dict[str, Any]]:
    tries = [ti for ti in airflow_api.task_instances(DAG, run_id) if ti["task_id"] == "load_statement"]
    return [
        airflow_api.xcom(DAG, run_id, "load_statement", "return_value", ti["map_index"])
        for ti in tries
        if ti["map_index"] >= 0
    ]


def _announcements(airflow_api: Any, run_ids: Iterable[str]) -> list[dict[str, Any]]:
    events = []
    for run_id in run_ids:
        found = airflow_api.request(
            "GET", "/assets/events", params={"source_dag_id": DAG, "source_run_id": run_id}
        )["asset_events"]
        events += found
    return events


def test_each_statement_is_reconciled_as_it_lands_and_the_full_run_writes_the_same_rows(
    stack: dict[str, str], airflow_api: Any, day: dt.date
) -> None:
    runs_before = len(_runs(airflow_api))
    first, *others = OUT_OF_ORDER

    _deliver(stack, day, [first])
    wait_for(lambda: first in _deliveries(stack, day), 300, f"{first}'s statement loaded")
    _settled(airflow_api, runs_before)  # its reconciliation too
    after_first = _breaks(stack, day)
    assert after_first, "the first custodian's breaks, before any other statement came"

    _deliver(stack, day, others)
    new_runs = _settled(airflow_api, runs_before)
    wait_for(lambda: len(_deliveries(stack, day)) == len(CUSTODIANS), 300, "every statement loaded")
    new_runs = _settled(airflow_api, runs_before)
    assert {run["state"] for run in new_runs} == {"success"}
    by_custodians = _breaks(stack, day)
    assert set(after_first) < set(by_custodians)

    # Every custodian in: the date announced once, by the run that loaded the last statement.
    announced = _announcements(airflow_api, [run["dag_run_id"] for run in new_runs])
    assert [event["extra"]["business_date"] for event in announced] == [day.isoformat()]
    assert announced[0]["name"] == "ops.statement_deliveries"

    # The whole date's reconciliation (a manual run: the nightly switch is off for the tests)
    # writes exactly the rows the custodians' runs wrote between them.
    run_id = airflow_api.trigger(RECONCILIATION, logical_date=None, conf={"business_date": day.isoformat()})
    assert airflow_api.wait_for_run(RECONCILIATION, run_id, timeout=600)["state"] == "success"
    assert _breaks(stack, day) == by_custodians


def test_a_duplicate_loads_nothing_and_a_malformed_message_is_quarantined_without_stopping_the_watcher(
    stack: dict[str, str], airflow_api: Any, day: dt.date
) -> None:
    before, breaks = _deliveries(stack, day), _breaks(stack, day)
    runs_before = len(_runs(airflow_api))
    key = f"{OUT_OF_ORDER[0]}/{day.isoformat()}"
    handled_before = _handled(stack, key)
    publish(kafka_client_of(stack, "custodians"), CUSTODIAN_STATEMENTS.name, [(key, {"rows": "many"})])
    _deliver(stack, day, [OUT_OF_ORDER[0]])  # the same file announced again

    wait_for(lambda: _handled(stack, key) == handled_before + 2, 300, "both messages handled")
    runs = _settled(airflow_api, runs_before)
    outcomes = [outcome for run in runs for outcome in _outcomes(airflow_api, run["dag_run_id"])]
    assert [(o["key"], o["outcome"]) for o in outcomes] == [(key, "duplicate")]
    assert _deliveries(stack, day) == before  # no second load: same offset, same run
    assert _breaks(stack, day) == breaks
    assert _announcements(airflow_api, [run["dag_run_id"] for run in runs]) == []

    quarantined = _query(
        stack,
        "SELECT rule, record_key, raw_record ->> 'offset' FROM reporting.quarantine "
        "WHERE source = 'statement_messages' AND record_key = %s AND dag_run_id = ANY(%s)",
        key,
        [run["dag_run_id"] for run in runs],
    )
    assert [(rule, record_key) for rule, record_key, _ in quarantined] == [("field_missing", key)]


def test_a_statement_that_comes_late_replaces_its_custodians_rows_and_announces_the_date_again(
    stack: dict[str, str], airflow_api: Any, day: dt.date
) -> None:
    late = OUT_OF_ORDER[1]
    before = _deliveries(stack, day)
    runs_before = len(_runs(airflow_api))

    _deliver(stack, day, [late], bad_row_rate=0.004)  # a corrected file: other rows, other sha256

    runs = _settled(airflow_api, runs_before)
    wait_for(lambda: _deliveries(stack, day)[late] != before[late], 120, "the late statement loaded")
    runs = _settled(airflow_api, runs_before)
    after = _deliveries(stack, day)
    assert after[late][0] != before[late][0]  # the new file
    assert {code: row for code, row in after.items() if code != late} == {
        code: row for code, row in before.items() if code != late
    }
    run_ids = [run["dag_run_id"] for run in runs]
    announced = _announcements(airflow_api, run_ids)
    assert [event["extra"]["business_date"] for event in announced] == [day.isoformat()]
    # The announcement started the date's full reconciliation (asset-triggered), once the
    # scheduler's next loop has seen it.
    started = wait_for(
        lambda: _announcements(airflow_api, run_ids)[0]["created_dagruns"], 120, "a run from the announcement"
    )
    assert {run["dag_id"] for run in started} == {RECONCILIATION}


def test_a_triggerer_restart_between_two_messages_replays_nothing(
    stack: dict[str, str], airflow_api: Any, day: dt.date
) -> None:
    first, second = OUT_OF_ORDER[2], OUT_OF_ORDER[3]
    _quiet(airflow_api)  # the earlier tests' last runs are created and finished
    runs_before = len(_runs(airflow_api))
    _deliver(stack, day, [first])
    first_runs = _settled(airflow_api, runs_before)

    os.killpg(service_pid("airflow-triggerer"), signal.SIGKILL)
    wait_for(lambda: recorded_pid("airflow-triggerer") is None, 30, "the killed triggerer is gone")
    airflow.start(Stack.load())  # as a supervisor would

    runs_between = len(_runs(airflow_api))
    _deliver(stack, day, [second])
    second_runs = _settled(airflow_api, runs_between, timeout=420)

    # Each message handled once. Not necessarily by the run it started: a run handles every
    # event no run has handled yet, so a run still queued behind another may take the next one.
    runs = first_runs + second_runs
    handled = [o["key"] for run in runs for o in _outcomes(airflow_api, run["dag_run_id"])]
    assert sorted(handled) == [f"{first}/{day.isoformat()}", f"{second}/{day.isoformat()}"]
    assert len(_runs(airflow_api)) == runs_between + 1  # no stale run replaying the first message
