"""Scenario of tests/features/nightly_pipeline.feature: one night through the Airflow REST
API (the session's ``nightly_pipeline``, tests/conftest.py), checked against the warehouse,
S3, Kafka and the synthetic ground truth."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg
import pytest
from pytest_bdd import given, scenarios, then, when

from devstack.stack_env import kafka_client_of
from include.markets_ops.scoring.manifest import part_keys
from include.markets_ops.services.model_registry import MODEL_NAME
from include.markets_ops.services.topics import HIGH_RISK_TRADES
from tests.integration.pipeline_stack import s3_objects, scores_manifest
from tests.support.kafka_messages import read_topic

scenarios("nightly_pipeline.feature")


@pytest.fixture
def night() -> dict[str, Any]:
    return {}


@given("a history of booked trades and a champion model")
def history_and_champion(
    night: dict[str, Any], stack: dict[str, str], pipeline_history: Any, pipeline_champion: str
) -> None:
    """Seeds the clean history and trains and promotes a champion if there is none (session
    fixtures, shared with the When step: set up once), then checks both are there."""
    from tests.integration.pipeline_stack import champion_version

    with _reader(stack) as reader:
        booked_dates = {
            row[0]
            for row in reader.execute(
                "SELECT DISTINCT business_date FROM ops.trades WHERE business_date = ANY(%s)",
                [pipeline_history.dates],
            )
        }
        gate_decisions = reader.execute(
            "SELECT count(*) FROM ml.model_promotions WHERE model_name = %s "
            "AND candidate_version = %s AND decision IN ('promoted', 'bootstrapped')",
            [MODEL_NAME, pipeline_champion],
        ).fetchone()[0]
    assert booked_dates == set(pipeline_history.dates), "every history date has booked trades"
    assert champion_version(stack) == pipeline_champion  # the registry's champion alias
    assert gate_decisions >= 1, f"version {pipeline_champion} was never promoted by the gate"
    night["history"] = pipeline_history


@when("the nightly pipeline runs for the next business day through Airflow")
def pipeline_runs(night: dict[str, Any], nightly_pipeline: dict[str, Any]) -> None:
    night.update(nightly_pipeline)
    assert night["day"] == night["history"].next_date  # the night after the Given history
    assert {run["state"] for run in night["runs"].values()} == {"success"}


def _reader(stack: dict[str, str]) -> psycopg.Connection:
    return psycopg.connect(stack["REPORTING_READER_URL"])


@then("every pending trade of the day is scored once, by the champion")
def scored_once(night: dict[str, Any], stack: dict[str, str]) -> None:
    day: dt.date = night["day"]
    with _reader(stack) as reader:
        pending, scored, distinct, versions = reader.execute(
            """
            SELECT (SELECT count(*) FROM ops.trades  -- pending at the end of the day (booked
                    -- in the last 31 days, not yet at its settle date, not cancelled)
                    WHERE business_date <= %(day)s AND business_date > %(day)s - 31
                      AND settle_date > %(day)s AND status <> 'cancelled'),
                   count(*), count(DISTINCT trade_id), array_agg(DISTINCT model_version)
            FROM ml.trade_scores WHERE business_date = %(day)s
            """,
            {"day": day},
        ).fetchone()
    assert scored == distinct > 0
    assert versions == [night["champion"]]
    night["scored"] = scored
    assert scored == pending, f"{pending} pending trades, {scored} scored"


@then("the day's scores are in S3 with a manifest that counts them")
def manifest(night: dict[str, Any], stack: dict[str, str]) -> None:
    written = scores_manifest(stack, night["day"])
    assert written["row_count"] == night["scored"]
    assert written["model_version"] == night["champion"]
    # Its parts are in the folder it names, as many rows as it counts.
    parts = s3_objects(stack, written["parts_prefix"])
    assert sorted(parts) == sorted(part_keys(written))
    assert sum(part["rows"] for part in written["parts"]) == night["scored"]


@then("every high-risk trade of the day is on the Kafka topic settlement-risk.high")
def high_risk_on_kafka(night: dict[str, Any], stack: dict[str, str]) -> None:
    day: dt.date = night["day"]
    with _reader(stack) as reader:
        high = {
            row[0]
            for row in reader.execute(
                "SELECT trade_id FROM ml.trade_scores WHERE business_date = %s AND risk_band = 'high'",
                [day],
            )
        }
    assert high, "the night has high-risk trades"
    messages = read_topic(kafka_client_of(stack, "reader"), HIGH_RISK_TRADES.name, lambda key: key in high)
    on_kafka = {key for key, value in messages if value["business_date"] == day.isoformat()}
    assert on_kafka == high


@then("the day's open reconciliation breaks are exactly the injected ones")
def breaks_are_the_truth(night: dict[str, Any], stack: dict[str, str]) -> None:
    day: dt.date = night["day"]
    with _reader(stack) as reader:
        found = set(
            reader.execute(
                "SELECT trade_ref, break_type FROM reporting.recon_breaks "
                "WHERE business_date = %s AND status = 'open'",
                [day],
            ).fetchall()
        )
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:  # only the owner reads the truth
        truth = set(
            owner.execute(
                "SELECT trade_ref, break_type FROM synthetic.injected_breaks WHERE business_date = %s",
                [day],
            ).fetchall()
        )
    assert truth
    assert found == truth


@then("the night's alerts are recorded with their summary in S3")
def alerts_recorded(night: dict[str, Any], stack: dict[str, str]) -> None:
    day: dt.date = night["day"]
    with _reader(stack) as reader:
        recorded = reader.execute(
            "SELECT count(*) FROM reporting.alerts WHERE business_date = %s", [day]
        ).fetchone()[0]
    objects = s3_objects(stack, f"reports/alerts/business_date={day}/")
    lines = [
        json.loads(line)
        for key, body in objects.items()
        if key.endswith("alerts.jsonl")
        for line in body.decode().splitlines()
        if line
    ]
    assert any(key.endswith("manifest.json") for key in objects)
    assert len(lines) == recorded
