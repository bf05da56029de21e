"""Both DAGs run through the Airflow REST API on the local stack, twice: the second run (a rerun
of the same business date) gives the same rows, the same S3 objects and the same Kafka keys."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import pytest

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import OPS_ALERTS, RECON_SUMMARY
from tests.support.kafka_messages import read_topic
from tests.support.warehouse_scenarios import DATE_RANGES, Scenario, Trade, clear_dates, connect, copy_rows

RECON_DAY = dt.date(2031, 7, 8)
ALERT_DAY = dt.date(2033, 3, 8)


@pytest.fixture(scope="module")
def writer(stack: dict[str, str]):
    with connect(stack["POSTGRES_URL"]) as conn:
        for name in ("recon_dag", "alert_dag"):
            clear_dates(conn, *DATE_RANGES[name])
        yield conn
        for name in ("recon_dag", "alert_dag"):
            clear_dates(conn, *DATE_RANGES[name])


def _trigger(api: Any, dag_id: str, conf: dict[str, Any]) -> dict[str, Any]:
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, logical_date=None, conf=conf)
    run = api.wait_for_run(dag_id, run_id, timeout=600)
    assert run["state"] == "success", api.failed_tasks_summary(dag_id, run_id)
    return run


def _rows(conn: Any, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.commit()
    return rows


def _s3_digests(stack: dict[str, str], prefix: str) -> dict[str, str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
        region_name=stack["AWS_DEFAULT_REGION"],
    )
    listing = client.list_objects_v2(Bucket=stack["S3_BUCKET"], Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: hashlib.sha256(
            client.get_object(Bucket=stack["S3_BUCKET"], Key=o["Key"])["Body"].read()
        ).hexdigest()
        for o in listing
    }


def _asset_event_extras(api: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    events = api.request("GET", "/assets/events", params={"source_dag_id": dag_id, "source_run_id": run_id})
    return [event["extra"] for event in events["asset_events"]]


def test_trade_reconciliation_runs_and_reruns_to_the_same_outputs(
    airflow_api: Any, writer: Any, stack: dict[str, str]
) -> None:
    day, settle = RECON_DAY, RECON_DAY + dt.timedelta(days=1)
    matched, short, missing = (Trade(f"RD-{n}", day, settle) for n in ("OK", "QTY", "MISS"))
    Scenario(
        trades=[matched, short, missing],
        confirmations=[matched.confirmation(day), short.confirmation(day, quantity=Decimal("10"))],
    ).load(writer)
    kafka = kafka_client_of(stack, "reader")
    key = day.isoformat()
    prefix = f"reports/recon/business_date={key}/"
    query = (
        "SELECT trade_ref, break_type, status, first_seen_date, age_business_days "
        "FROM reporting.recon_breaks WHERE business_date = %s AND trade_ref LIKE 'RD-%%' ORDER BY 1, 2"
    )
    messages_before = len(read_topic(kafka, RECON_SUMMARY.name, lambda k: k == key))

    first = _trigger(airflow_api, "trade_reconciliation", {"business_date": key})
    rows = _rows(writer, query, [day])
    assert rows == [
        ("RD-MISS", "missing_at_custodian", "open", day, 0),
        ("RD-QTY", "quantity_mismatch", "open", day, 0),
    ]
    objects = _s3_digests(stack, prefix)
    assert sorted(objects) == [
        f"{prefix}{n}" for n in ("breaks.csv", "breaks.parquet", "manifest.json", "report.html")
    ]
    assert _asset_event_extras(airflow_api, "trade_reconciliation", first["dag_run_id"]) == [
        {"business_date": key}
    ]

    _trigger(airflow_api, "trade_reconciliation", {"business_date": key})
    assert _rows(writer, query, [day]) == rows
    assert _s3_digests(stack, prefix) == objects
    messages = read_topic(kafka, RECON_SUMMARY.name, lambda k: k == key)[messages_before:]
    assert len(messages) == 2
    assert messages[0] == messages[1]
    assert messages[0][1]["open_by_type"]["quantity_mismatch"] >= 1


def test_ops_sql_alerts_runs_and_reruns_without_duplicates(
    airflow_api: Any, writer: Any, stack: dict[str, str]
) -> None:
    day = ALERT_DAY
    copy_rows(
        writer,
        "reporting.recon_breaks",
        "business_date, trade_ref, break_type, status, first_seen_date, age_business_days, counterparty_id",
        [
            (day, "AD-1", "price_mismatch", "open", dt.date(2033, 2, 1), 24, "TCP-ALPHA"),
            (day, "AD-2", "missing_internal", "open", dt.date(2033, 2, 20), 11, "TCP-BETA"),
        ],
    )
    writer.commit()
    kafka = kafka_client_of(stack, "reader")
    our_keys = {"aged_recon_breaks:TCP-ALPHA", "aged_recon_breaks:TCP-BETA"}
    before = len(read_topic(kafka, OPS_ALERTS.name, lambda k: k in our_keys))
    alerts_query = (
        "SELECT rule_id, entity_key, alert_id, is_new, first_raised_date, details FROM reporting.alerts "
        "WHERE business_date = %s ORDER BY 1, 2"
    )
    prefix = f"reports/alerts/business_date={day.isoformat()}/"

    first = _trigger(airflow_api, "ops_sql_alerts", {"business_date": day.isoformat()})
    alerts = _rows(writer, alerts_query, [day])
    aged = {row[1]: row for row in alerts if row[0] == "aged_recon_breaks"}
    assert set(aged) == {"TCP-ALPHA", "TCP-BETA"}
    assert all(row[3] is True and row[4] == day for row in aged.values())
    states = {
        (ti["task_id"], ti.get("rendered_map_index")): ti["state"]
        for ti in airflow_api.task_instances("ops_sql_alerts", first["dag_run_id"])
    }
    assert states[("run_rule", "aged_recon_breaks.sql")] == "success"
    assert len([k for k in states if k[0] == "run_rule"]) == 6
    objects = _s3_digests(stack, prefix)
    assert sorted(objects) == [f"{prefix}alerts.jsonl", f"{prefix}manifest.json"]
    assert _asset_event_extras(airflow_api, "ops_sql_alerts", first["dag_run_id"]) == [
        {"business_date": day.isoformat()}
    ]

    _trigger(airflow_api, "ops_sql_alerts", {"business_date": day.isoformat()})
    assert _rows(writer, alerts_query, [day]) == alerts  # same rows, same alert ids
    assert _s3_digests(stack, prefix) == objects
    messages = read_topic(kafka, OPS_ALERTS.name, lambda k: k in our_keys)[before:]
    assert sorted(k for k, _ in messages) == sorted([*our_keys, *our_keys])
    by_key: dict[str, list[dict[str, Any]]] = {}
    for k, value in messages:
        by_key.setdefault(k, []).append(value)
    assert all(values[0] == values[1] for values in by_key.values())
    alpha = by_key["aged_recon_breaks:TCP-ALPHA"][0]
    assert alpha["severity"] == "high"
    assert alpha["owner"] == "settlement-ops"
    assert alpha["details"]["oldest_age_business_days"] == 24
