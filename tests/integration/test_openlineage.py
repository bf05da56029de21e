"""OpenLineage on the stack, read back from ``openlineage.events`` alone (docs/lineage.md).

One night of the pipeline (tests/conftest.py ``nightly_pipeline``), then its graph, edge by
edge: the landing files into the ops tables, the ops tables into the scores (written by the model
job, a child of its task's run) and the breaks, those into the alerts, and the outputs to S3 and
Kafka. Then a broker outage: the task still succeeds and its events, kept in the outbox, reach
the topic once the relay runs after Kafka is back.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from settlement_model import lineage_names as names

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import (
    HIGH_RISK_TRADES,
    LINEAGE_EVENTS,
    OPS_ALERTS,
    RECON_SUMMARY,
)
from tests.support.faults import service_paused
from tests.support.kafka_messages import read_topic
from tests.support.lineage_events import completed, dag_run_id, datasets, facet, lineage_events

FEED, SCORING, RECON, ALERTS = (
    "ops_demo_feed",
    "settlement_risk_scoring",
    "trade_reconciliation",
    "ops_sql_alerts",
)
HEARTBEAT, RELAY = "business_calendar_heartbeat", "ops_events_relay"
SCORE_JOB = f"{SCORING}.score_shard.score"  # the model job: its task's job name, then the job's


def _table(name: str) -> str:
    return str(names.table(name))


def _s3(stack: dict[str, str], prefix: str) -> str:
    return str(names.DatasetName(f"s3://{stack['S3_BUCKET']}", prefix))


def _topic(name: str) -> str:
    return str(names.topic(name))


def _edges(stack: dict[str, str]) -> list[tuple[str, str, str]]:
    """(input dataset, job, output dataset): the night's graph as docs/lineage.md draws it."""
    return [
        (_s3(stack, "landing/trades"), f"{FEED}.load_trades", _table("ops.trades")),
        (
            _s3(stack, "landing/custodian_confirmations"),
            f"{FEED}.load_custodian_confirmations",
            _table("ops.custodian_confirmations"),
        ),
        (
            _s3(stack, "landing/settlement_outcomes"),
            f"{FEED}.load_settlement_outcomes",
            _table("ops.settlement_outcomes"),
        ),
        (_table("ops.trades"), SCORE_JOB, _table("ml.trade_scores")),
        (_table("ops.trades"), SCORE_JOB, _s3(stack, "scores")),
        (_table("ops.trades"), SCORE_JOB, _topic(HIGH_RISK_TRADES.name)),
        (_table("ops.trades"), f"{RECON}.reconcile", _table("reporting.recon_breaks")),
        (_table("ops.custodian_confirmations"), f"{RECON}.reconcile", _table("reporting.recon_breaks")),
        (_table("ops.settlement_outcomes"), f"{RECON}.reconcile", _table("reporting.recon_breaks")),
        (_table("reporting.recon_breaks"), f"{RECON}.publish_report", _s3(stack, "reports/recon")),
        (_table("ml.trade_scores"), f"{ALERTS}.run_rule", _table("reporting.alerts")),
        (_table("reporting.recon_breaks"), f"{ALERTS}.run_rule", _table("reporting.alerts")),
        (_table("reporting.alerts"), f"{ALERTS}.publish_alerts", _s3(stack, "reports/alerts")),
        (_table("reporting.alerts"), f"{ALERTS}.publish_alerts", _topic(OPS_ALERTS.name)),
    ]


@pytest.fixture(scope="module")
def night_lineage(stack: dict[str, str], nightly_pipeline: dict[str, Any]) -> dict[str, Any]:
    """The COMPLETE events of the night's task runs and of the model jobs they started, read once
    the last task's is in (each process sends as its task finishes)."""
    run_ids = {run["dag_run_id"] for run in nightly_pipeline["runs"].values()}
    publish_alerts = f"{ALERTS}.publish_alerts"
    deadline = time.monotonic() + 120
    while True:
        events = lineage_events(stack)
        tasks = [e for e in completed(events) if dag_run_id(e) in run_ids]
        last = {publish_alerts, ALERTS}  # the alerts' last task, then their DAG run (the scheduler's)
        if last <= {e["job"]["name"] for e in tasks} or time.monotonic() > deadline:
            break
        time.sleep(3)
    task_runs = {e["run"]["runId"]: e for e in tasks if "." in e["job"]["name"]}
    jobs = [e for e in completed(events) if facet(e, "parent", "run", "runId") in task_runs]
    return {"tasks": tasks, "jobs": jobs, "task_runs": task_runs, "run_ids": run_ids}


def test_the_nights_graph_reads_from_the_events_edge_by_edge(stack, night_lineage):
    found = {
        (source, event["job"]["name"], target)
        for event in night_lineage["tasks"] + night_lineage["jobs"]
        for source in datasets(event, "inputs")
        for target in datasets(event, "outputs")
    }
    edges = _edges(stack)

    missing = [edge for edge in edges if edge not in found]

    assert missing == [], "\n".join(f"{s} -> {j} -> {t}" for s, j, t in sorted(found))


def test_the_graph_leads_from_the_landing_files_to_the_published_alerts(stack, night_lineage):
    """Reachability over the events' edges alone: a file of the feed to the alerts' topic."""
    graph: dict[str, set[str]] = {}
    for event in night_lineage["tasks"] + night_lineage["jobs"]:
        for source in datasets(event, "inputs"):
            graph.setdefault(source, set()).update(datasets(event, "outputs"))
    reached, frontier = set(), [_s3(stack, "landing/trades")]
    while frontier:
        node = frontier.pop()
        if node not in reached:
            reached.add(node)
            frontier.extend(graph.get(node, ()))

    assert {_table("reporting.alerts"), _topic(OPS_ALERTS.name), _s3(stack, "reports/alerts")} <= reached
    assert _topic(RECON_SUMMARY.name) in {t for e in night_lineage["tasks"] for t in datasets(e, "outputs")}


def test_the_model_job_is_a_child_of_the_task_that_started_it(night_lineage):
    [*score_jobs] = [e for e in night_lineage["jobs"] if e["job"]["name"] == SCORE_JOB]
    assert score_jobs, "no COMPLETE event of the scoring job joined to a task of the night"

    for job in score_jobs:
        task = night_lineage["task_runs"][facet(job, "parent", "run", "runId")]
        assert task["job"]["name"] == f"{SCORING}.score_shard"
        assert facet(job, "parent", "job", "name") == task["job"]["name"]
        assert facet(job, "parent", "root", "job", "name") == SCORING
        assert facet(job, "parent", "root", "run", "runId") == facet(task, "parent", "run", "runId")


def test_every_task_of_the_night_reports_its_run_and_the_dag_runs_too(night_lineage):
    jobs = {e["job"]["name"] for e in night_lineage["tasks"]}
    dags = {FEED, SCORING, RECON, ALERTS}

    assert dags <= jobs  # each DAG run's own COMPLETE, from the scheduler
    assert {name.split(".")[0] for name in jobs} == dags
    assert {
        f"{FEED}.load_trades",
        f"{SCORING}.score_shard",
        f"{RECON}.reconcile",
        f"{ALERTS}.run_rule",
    } <= jobs
    assert all(e["job"]["namespace"] == names.JOB_NAMESPACE for e in night_lineage["tasks"])


def _outbox_events(stack: dict[str, str], run_id: str) -> list[tuple[str, dict[str, Any], str | None]]:
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        rows = reader.execute(
            "SELECT o.event_key, o.payload, d.delivered_by FROM events.outbox o "
            "LEFT JOIN events.outbox_deliveries d USING (topic, event_key) "
            "WHERE o.topic = %s AND o.event_type = 'openlineage'",
            (LINEAGE_EVENTS.name,),
        ).fetchall()
    return [row for row in rows if dag_run_id(row[1]) == run_id]


def _kept_in_outbox(
    stack: dict[str, str], run_id: str, expected: set[tuple[str, str]], timeout: float = 60
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        kept = {key: payload for key, payload, _ in _outbox_events(stack, run_id)}
        if expected <= {(p["job"]["name"], p["eventType"]) for p in kept.values()}:
            return kept
        if time.monotonic() > deadline:
            return kept
        time.sleep(1)


def test_a_broker_outage_delays_lineage_and_fails_no_task(stack, airflow_api):
    airflow_api.wait_for_dag(HEARTBEAT)
    airflow_api.unpause(HEARTBEAT)
    task = f"{HEARTBEAT}.check_business_date"
    with service_paused("kafka"):
        run_id = airflow_api.trigger(HEARTBEAT, logical_date=None, conf={"business_date": "2026-10-30"})
        run = airflow_api.wait_for_run(HEARTBEAT, run_id, timeout=300)
        # The task's COMPLETE event is sent after the task reports success: the broker stays
        # paused until the transport has given up on Kafka and kept it.
        both = {"START", "COMPLETE"}
        kept = _kept_in_outbox(stack, run_id, {(job, state) for job in (HEARTBEAT, task) for state in both})

    assert run["state"] == "success", airflow_api.failed_tasks_summary(HEARTBEAT, run_id)
    assert {(task, "START"), (task, "COMPLETE")} <= {
        (p["job"]["name"], p["eventType"]) for p in kept.values()
    }

    airflow_api.unpause(RELAY)
    relay_run = airflow_api.trigger(RELAY, None)
    assert airflow_api.wait_for_run(RELAY, relay_run, timeout=300)["state"] == "success"

    assert {key for key, _, by in _outbox_events(stack, run_id) if by is not None} == set(kept)
    on_topic = read_topic(kafka_client_of(stack, "reader"), LINEAGE_EVENTS.name, lambda key: key in kept)
    # At least once, under the key it was kept with: an event the paused broker had received
    # before the producer gave up is written when it resumes too (librdkafka's "possibly
    # persisted"); the copies are the same event, and consumers keep one per key.
    assert {key for key, _ in on_topic} == set(kept)
    assert all(value == kept[key] for key, value in on_topic)
