"""On the real stack, through the REST API: the extra links of a run point at that run's outputs
and the dashboard pages they open show them; a dry run leaves reporting.* and Kafka unchanged and
writes its preview only; a run that misses its deadline publishes a lateness event to Kafka."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from devstack.stack_env import kafka_client_of
from include.markets_ops.airflow import links
from include.markets_ops.airflow.dry_run import preview_prefix
from include.markets_ops.services.topics import AIRFLOW_EVENTS, OPS_ALERTS, RECON_SUMMARY
from tests.integration.pipeline_stack import s3_client
from tests.support.airflow_events import schema_errors
from tests.support.kafka_messages import read_topic
from tests.support.warehouse_scenarios import DATE_RANGES, Scenario, Trade, clear_dates, connect, copy_rows

RECON_DAY = dt.date(2034, 1, 10)
ALERT_DAY = dt.date(2034, 1, 12)
RECON = "trade_reconciliation"


@pytest.fixture(scope="module")
def writer(stack: dict[str, str]):
    with connect(stack["POSTGRES_URL"]) as conn:
        clear_dates(conn, *DATE_RANGES["links_and_dry_runs"])
        settle = RECON_DAY + dt.timedelta(days=1)
        matched, short, missing = (Trade(f"LK-{n}", RECON_DAY, settle) for n in ("OK", "QTY", "MISS"))
        Scenario(
            trades=[matched, short, missing],
            confirmations=[
                matched.confirmation(RECON_DAY),
                short.confirmation(RECON_DAY, quantity=Decimal("10")),
            ],
        ).load(conn)
        yield conn
        clear_dates(conn, *DATE_RANGES["links_and_dry_runs"])


@pytest.fixture(scope="module")
def bearer(stack: dict[str, str]) -> dict[str, str]:
    response = requests.post(
        f"{stack['AIRFLOW_API_URL']}/auth/token",
        json={"username": stack["AIRFLOW_USERNAME"], "password": stack["AIRFLOW_PASSWORD"]},
        timeout=30,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def real_run(airflow_api: Any, writer: Any) -> str:
    return _run(airflow_api, RECON, {"business_date": RECON_DAY.isoformat()})


def _run(api: Any, dag_id: str, conf: dict[str, Any]) -> str:
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, logical_date=None, conf=conf)
    run = api.wait_for_run(dag_id, run_id, timeout=600)
    assert run["state"] == "success", api.failed_tasks_summary(dag_id, run_id)
    return run_id


def _links(api: Any, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
    return api.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links")["extra_links"]


def _states(api: Any, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in api.task_instances(dag_id, run_id)}


def _rows(conn: Any, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.commit()
    return rows


def _asset_events(api: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return api.request("GET", "/assets/events", params={"source_dag_id": dag_id, "source_run_id": run_id})[
        "asset_events"
    ]


def test_the_links_of_a_run_point_at_its_outputs_and_open_them(
    airflow_api: Any, real_run: str, stack: dict[str, str], bearer: dict[str, str]
) -> None:
    base, bucket, day = stack["AIRFLOW_API_URL"], stack["S3_BUCKET"], RECON_DAY.isoformat()
    prefix = f"reports/recon/business_date={day}/"
    report_link = _links(airflow_api, RECON, real_run, "publish_report")["S3 output"]
    summary_link = _links(airflow_api, RECON, real_run, "publish_summary")["Kafka topic"]
    assert report_link == links.s3_prefix_url(base, bucket, prefix)
    assert summary_link == links.kafka_topic_url(base, RECON_SUMMARY.name, day)
    assert _links(airflow_api, RECON, real_run, "reconcile") == {"S3 output": None}  # only a dry run previews

    assert requests.get(report_link, timeout=30).status_code == 401  # anonymous
    listing = requests.get(report_link, headers=bearer, timeout=30)
    assert listing.status_code == 200
    for name in ("breaks.csv", "breaks.parquet", "report.html", "manifest.json"):
        assert f"{prefix}{name}" in listing.text
    manifest = requests.get(
        f"{base}/ops-dashboard/s3/object",
        params={"key": f"{prefix}manifest.json"},
        headers=bearer,
        timeout=30,
    )
    assert manifest.status_code == 200
    assert json.loads(manifest.content)["summary"]["business_date"] == day

    topic_page = requests.get(summary_link, headers=bearer, timeout=60)
    assert topic_page.status_code == 200
    assert f"business date {day}" in topic_page.text
    assert "quantity_mismatch" in topic_page.text
    assert "No messages" not in topic_page.text


def test_a_dry_run_leaves_reporting_and_kafka_unchanged(
    airflow_api: Any, real_run: str, writer: Any, stack: dict[str, str]
) -> None:
    kafka, day = kafka_client_of(stack, "reader"), RECON_DAY.isoformat()
    breaks_query = (
        "SELECT trade_ref, break_type, status, first_seen_date, age_business_days FROM reporting.recon_breaks"
        " WHERE business_date = %s ORDER BY 1, 2"
    )
    breaks_before = _rows(writer, breaks_query, [RECON_DAY])
    assert ("LK-QTY", "quantity_mismatch", "open", RECON_DAY, 0) in breaks_before
    messages_before = read_topic(kafka, RECON_SUMMARY.name, lambda k: k == day)

    # A 1000-unit quantity tolerance would clear the 990-unit break: the preview says so, the table keeps it.
    run_id = _run(airflow_api, RECON, {"business_date": day, "dry_run": True, "quantity_tolerance": 1000})

    assert _rows(writer, breaks_query, [RECON_DAY]) == breaks_before
    assert read_topic(kafka, RECON_SUMMARY.name, lambda k: k == day) == messages_before
    assert _asset_events(airflow_api, RECON, run_id) == []
    states = _states(airflow_api, RECON, run_id)
    assert (states["reconcile"], states["publish_report"], states["publish_summary"]) == (
        "success",
        "skipped",
        "skipped",
    )
    preview = preview_prefix(RECON, run_id, RECON_DAY)
    assert _links(airflow_api, RECON, run_id, "reconcile")["S3 output"] == links.s3_prefix_url(
        stack["AIRFLOW_API_URL"], stack["S3_BUCKET"], preview
    )
    s3 = s3_client(stack)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=stack["S3_BUCKET"], Prefix=preview)["Contents"])
    assert keys == [
        f"{preview}{n}"
        for n in ("breaks.csv", "breaks.parquet", "kafka_event.json", "manifest.json", "report.html")
    ]
    manifest = json.loads(
        s3.get_object(Bucket=stack["S3_BUCKET"], Key=f"{preview}manifest.json")["Body"].read()
    )
    assert manifest["summary"]["dry_run"] is True
    assert manifest["summary"]["open_by_type"]["quantity_mismatch"] == 0
    assert manifest["summary"]["open_by_type"]["missing_at_custodian"] == 1


def test_an_alerts_dry_run_writes_its_preview_only(
    airflow_api: Any, writer: Any, stack: dict[str, str]
) -> None:
    copy_rows(
        writer,
        "reporting.recon_breaks",
        "business_date, trade_ref, break_type, status, first_seen_date, age_business_days, counterparty_id",
        [(ALERT_DAY, "LK-AGED", "price_mismatch", "open", dt.date(2033, 12, 1), 28, "TCP-GAMMA")],
    )
    writer.commit()
    kafka, day = kafka_client_of(stack, "reader"), ALERT_DAY.isoformat()
    ours = "aged_recon_breaks:TCP-GAMMA"
    messages_before = read_topic(kafka, OPS_ALERTS.name, lambda k: k == ours)

    run_id = _run(airflow_api, "ops_sql_alerts", {"business_date": day, "dry_run": True})

    for table in ("reporting.alerts", "reporting.alert_rule_runs"):
        assert _rows(writer, f"SELECT count(*) FROM {table} WHERE business_date = %s", [ALERT_DAY]) == [(0,)]
    assert read_topic(kafka, OPS_ALERTS.name, lambda k: k == ours) == messages_before
    assert _asset_events(airflow_api, "ops_sql_alerts", run_id) == []
    states = _states(airflow_api, "ops_sql_alerts", run_id)
    assert states["publish_alerts"] == "skipped"
    assert states["check_rules"] == "success"
    preview = preview_prefix("ops_sql_alerts", run_id, ALERT_DAY)
    body = s3_client(stack).get_object(Bucket=stack["S3_BUCKET"], Key=f"{preview}aged_recon_breaks.json")[
        "Body"
    ]
    aged = json.loads(body.read())
    assert aged["dry_run"] is True
    assert [(a["entity_key"], a["is_new"]) for a in aged["alerts"]] == [("TCP-GAMMA", True)]


def test_a_missed_deadline_publishes_a_lateness_event(
    airflow_api: Any, writer: Any, stack: dict[str, str]
) -> None:
    variable = "trade_reconciliation_deadline_seconds"
    original = airflow_api.get_variable(variable)
    assert original is not None
    airflow_api.set_variable(variable, "1")
    try:
        run_id = _run(airflow_api, RECON, {"business_date": RECON_DAY.isoformat(), "dry_run": True})
    finally:
        airflow_api.set_variable(variable, original)

    # A real consumer reads the event the triggerer published.
    wanted = f"{RECON}/{run_id}/deadline/"
    found: list[tuple[str, dict[str, Any]]] = []
    give_up = time.monotonic() + 120
    while not found and time.monotonic() < give_up:
        found = read_topic(
            kafka_client_of(stack, "reader"), AIRFLOW_EVENTS.name, lambda k: k.startswith(wanted)
        )
        time.sleep(0 if found else 3)
    assert len(found) == 1, f"no deadline_missed event for {run_id} within 120 s"
    event = found[0][1]
    assert event["event"] == "deadline_missed"
    assert schema_errors(event) == []  # the topic's one schema (docs/events.md)
    assert event["dag_id"] == RECON
    assert event["run_id"] == run_id
    assert event["business_date"] == RECON_DAY.isoformat()
    deadline = dt.datetime.fromisoformat(event["deadline_time"])
    assert deadline - dt.datetime.fromisoformat(event["queued_at"]) == dt.timedelta(seconds=1)


def _deadline_events(stack: dict[str, str], dag_id: str, run_id: str) -> list[dict[str, Any]]:
    wanted = f"{dag_id}/{run_id}/deadline/"
    return [
        value
        for _, value in read_topic(
            kafka_client_of(stack, "reader"), AIRFLOW_EVENTS.name, lambda k: k.startswith(wanted)
        )
    ]


def test_a_run_unfinished_at_the_nightly_cutoff_publishes_a_lateness_event_and_a_rerun_of_an_old_date_none(
    airflow_api: Any, writer: Any, stack: dict[str, str]
) -> None:
    """The cutoff a few seconds ahead for tonight's date: a run of tonight's date is late;
    a rerun of an older date, created when its cutoff had long passed, gets no deadline."""
    from zoneinfo import ZoneInfo

    from include.markets_ops.airflow.deadlines import cutoff_instant, cutoff_offset
    from include.markets_ops.airflow.defaults import CUTOFF_VARIABLE
    from include.markets_ops.calendars import OPERATIONS_TIMEZONE

    dag_id = "ops_sql_alerts"  # the end of the nightly chain; its rules run on any date
    now = dt.datetime.now(ZoneInfo(OPERATIONS_TIMEZONE))
    tonight, old_date = now.date(), now.date() - dt.timedelta(days=3)
    ahead = int((now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()) + 6
    cutoff_text = f"{ahead // 3600:02d}:{ahead % 3600 // 60:02d}:{ahead % 60:02d}"  # after tonight's midnight
    cutoff = cutoff_instant(tonight, cutoff_offset(cutoff_text, "23:30"), OPERATIONS_TIMEZONE)
    airflow_api.wait_for_dag(dag_id)
    airflow_api.unpause(dag_id)
    original = airflow_api.get_variable(CUTOFF_VARIABLE)
    assert original is not None
    airflow_api.set_variable(CUTOFF_VARIABLE, cutoff_text)
    try:
        late_run = airflow_api.trigger(dag_id, None, {"business_date": tonight.isoformat(), "dry_run": True})
        rerun = airflow_api.trigger(dag_id, None, {"business_date": old_date.isoformat(), "dry_run": True})
    finally:
        airflow_api.set_variable(CUTOFF_VARIABLE, original)

    found: list[dict[str, Any]] = []
    give_up = time.monotonic() + 120
    while not found and time.monotonic() < give_up:
        found = [
            e for e in _deadline_events(stack, dag_id, late_run) if e["deadline_name"] == "nightly_cutoff"
        ]
        time.sleep(0 if found else 3)
    assert len(found) == 1, f"no nightly_cutoff event for {late_run} within 120 s"
    assert found[0]["business_date"] == tonight.isoformat()
    assert dt.datetime.fromisoformat(found[0]["deadline_time"]) == cutoff
    assert found[0]["run_type"] == "manual"

    # The rerun's cutoff would have been 3 days ago: missed at once had it been created.
    for run_id in (late_run, rerun):
        assert airflow_api.wait_for_run(dag_id, run_id, timeout=600)["state"] == "success"
    assert _deadline_events(stack, dag_id, rerun) == []


def test_an_invalid_business_date_is_refused_and_creates_no_run(
    airflow_api: Any, stack: dict[str, str], bearer: dict[str, str]
) -> None:
    airflow_api.wait_for_dag(RECON)
    runs_before = airflow_api.request("GET", f"/dags/{RECON}/dagRuns", params={"limit": 1})["total_entries"]
    response = requests.post(
        f"{stack['AIRFLOW_API_URL']}/api/v2/dags/{RECON}/dagRuns",
        headers=bearer,
        json={"logical_date": None, "conf": {"business_date": "30/10/2026"}},
        timeout=30,
    )
    assert 400 <= response.status_code < 500, response.text
    assert "business_date" in response.text
    assert "30/10/2026" in response.text
    runs_after = airflow_api.request("GET", f"/dags/{RECON}/dagRuns", params={"limit": 1})["total_entries"]
    assert runs_after == runs_before
