"""Helpers for tests that run ops_demo_feed on the stack's own warehouse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from include.markets_ops.synthetic import seed, truth
from include.markets_ops.synthetic.config import GeneratorConfig

FEED_DAG = "ops_demo_feed"


def ensure_history(stack: dict[str, str]) -> tuple[GeneratorConfig, dt.date]:
    """The stored synthetic world (else the demo's), with its first two business days seeded;
    returns the world and its third business day, which the feed can then load."""
    with (
        psycopg.connect(stack["UPSTREAM_FEED_URL"]) as upstream,
        psycopg.connect(stack["POSTGRES_URL"]) as writer,
    ):
        world = truth.load_config(upstream) or GeneratorConfig()
        dates = seed.business_dates(world.epoch, 3)
        seeded = {
            row[0]
            for row in writer.execute(
                "SELECT DISTINCT business_date FROM ops.trades WHERE business_date = ANY(%s)", (dates[:2],)
            )
        }
        if seeded != set(dates[:2]):
            seed.seed_history(writer, upstream, world, dates[:2], progress=lambda line: None)
    return world, dates[2]


def run_feed(api: Any, business_date: dt.date, **params: Any) -> dict[str, Any]:
    api.wait_for_dag(FEED_DAG)
    api.unpause(FEED_DAG)
    run_id = api.trigger(
        FEED_DAG, logical_date=None, conf={"business_date": business_date.isoformat(), **params}
    )
    run = api.wait_for_run(FEED_DAG, run_id, timeout=600)
    assert run["state"] == "success", api.failed_tasks_summary(FEED_DAG, run_id)
    return run


def return_value(api: Any, run_id: str, task_id: str) -> Any:
    path = f"/dags/{FEED_DAG}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    return api.request("GET", path)["value"]


def asset_events(api: Any, run_id: str) -> dict[str, dict[str, Any]]:
    events = api.request(
        "GET", "/assets/events", params={"source_dag_id": FEED_DAG, "source_run_id": run_id, "limit": 100}
    )["asset_events"]
    return {event["source_task_id"]: event for event in events}


def day_state(stack: dict[str, str], business_date: dt.date) -> dict[str, Any]:
    """Fingerprints of everything the feed writes for a date, and the quarantine vs the truth."""
    fingerprints = {
        "trades": "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY trade_id)) "
        "FROM ops.trades t WHERE business_date = %(day)s",
        "custodian_confirmations": "SELECT count(*), md5(string_agg(c::text, '|' ORDER BY trade_ref)) "
        "FROM ops.custodian_confirmations c WHERE business_date = %(day)s",
        "settlement_outcomes": "SELECT count(*), md5(string_agg(o::text, '|' ORDER BY trade_id)) "
        "FROM ops.settlement_outcomes o WHERE business_date = %(day)s",
    }
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner:
        state: dict[str, Any] = {
            name: owner.execute(query, {"day": business_date}).fetchone()
            for name, query in fingerprints.items()
        }
        state["quarantine"] = sorted(
            owner.execute(
                "SELECT source, record_key, rule FROM reporting.quarantine WHERE business_date = %s",
                (business_date,),
            ).fetchall()
        )
        state["injected_bad_rows"] = sorted(
            owner.execute(
                "SELECT source, record_key, rule FROM synthetic.injected_bad_rows WHERE business_date = %s",
                (business_date,),
            ).fetchall()
        )
    return state
