"""Helpers for tests that run the nightly DAGs through Airflow on the stack's own warehouse:
a clean history of the stored synthetic world, a champion trained and promoted by the training
DAG, REST backfills by business date, manual runs, and the outputs to compare."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from include.markets_ops.calendars import OPERATIONS_TIMEZONE
from include.markets_ops.services import model_registry
from include.markets_ops.synthetic import seed, truth
from include.markets_ops.synthetic.config import GeneratorConfig
from tests.integration.feed_stack import run_feed

ATTEMPT_FOLDER = re.compile(r"/run=[^/]+/")  # a scoring attempt's folder of Parquet parts
SCORES_FOLDER = "scores/"

FEED_DAG = "ops_demo_feed"
SCORING_DAG = "settlement_risk_scoring"
RECON_DAG = "trade_reconciliation"
ALERTS_DAG = "ops_sql_alerts"
TRAINING_DAG = "settlement_risk_training"
APPROVAL_TASK = "approve_promotion"
APPROVER = "op"  # in model_promotion_approvers; never the tests' admin, who triggers the runs

# Business days of clean history from the world's epoch. The last one (Friday 16 October 2026
# in the default world) is a run date of the weekly training timetable, with enough labelled
# history behind it for TRAINING_CONF's windows (the label lag is 7 calendar days).
HISTORY_DAYS = 21
TRAINING_CONF = {"train_days": 10, "holdout_days": 5}


@dataclass(frozen=True)
class History:
    world: GeneratorConfig
    dates: list[dt.date]  # seeded with clean data (no bad rows), in order
    next_date: dt.date  # the business date after: not seeded, the feed loads it

    @property
    def training_date(self) -> dt.date:
        return self.dates[-1]


def ensure_clean_history(stack: dict[str, str], days: int = HISTORY_DAYS) -> History:
    """The stored synthetic world (else the demo's) with its first ``days`` business days seeded
    clean. A date already seeded is kept, unless the feed quarantined rows of it (the feed's
    tests load the world's third date with bad rows): it is seeded again, which restores its
    clean statement, so the reconciliation of every history date equals the ground truth."""
    with (
        psycopg.connect(stack["UPSTREAM_FEED_URL"]) as upstream,
        psycopg.connect(stack["POSTGRES_URL"]) as writer,
    ):
        world = truth.load_config(upstream) or GeneratorConfig()
        *dates, following = seed.business_dates(world.epoch, days + 1)
        seeded = _dates_in(writer, "ops.trades", dates)
        touched_by_the_feed = _dates_in(writer, "reporting.quarantine", dates)
        missing = [day for day in dates if day not in seeded or day in touched_by_the_feed]
        if missing:
            seed.seed_history(writer, upstream, world, missing, progress=lambda line: None)
    return History(world, dates, following)


_DATED_TABLES = {"ops.trades": ("ops", "trades"), "reporting.quarantine": ("reporting", "quarantine")}


def _dates_in(conn: Any, table: str, dates: list[dt.date]) -> set[dt.date]:
    from psycopg import sql

    query = sql.SQL("SELECT DISTINCT business_date FROM {} WHERE business_date = ANY(%s)").format(
        sql.Identifier(*_DATED_TABLES[table])  # a KeyError for any other table
    )
    return {row[0] for row in conn.execute(query, (dates,))}


def run_dag(api: Any, dag_id: str, conf: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    """A manual run of ``dag_id`` with ``conf``, waited for; it must succeed."""
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, logical_date=None, conf=conf)
    run = api.wait_for_run(dag_id, run_id, timeout=timeout)
    assert run["state"] == "success", api.failed_tasks_summary(dag_id, run_id)
    return run


def approver(api: Any, stack: dict[str, str]) -> Any:
    """The REST API as the approver (a second person: the runs are triggered by the admin)."""
    from devstack.airflow_api import AirflowApi

    return AirflowApi(api.base_url, APPROVER, stack[f"AIRFLOW_{APPROVER.upper()}_PASSWORD"])


def run_training(
    api: Any,
    stack: dict[str, str],
    conf: dict[str, Any],
    timeout: float = 1200,
    approval_task: str = APPROVAL_TASK,
) -> dict[str, Any]:
    """A manual training run (or rollback: ``approval_task="approve_rollback"``); its approval
    request, if the run asks, approved as the approver would in the UI. The run must succeed."""
    api.wait_for_dag(TRAINING_DAG)
    api.unpause(TRAINING_DAG)
    run_id = api.trigger(TRAINING_DAG, logical_date=None, conf=conf)
    comment = {"comment": "pytest: approved"}
    approver(api, stack).answer_each_request(
        TRAINING_DAG, run_id, approval_task, "Approve", params_input=comment, timeout=timeout
    )
    run = api.wait_for_run(TRAINING_DAG, run_id, timeout=timeout)
    assert run["state"] == "success", api.failed_tasks_summary(TRAINING_DAG, run_id)
    return run


def champion_version(stack: dict[str, str]) -> str | None:
    client = model_registry.client(stack["MLFLOW_TRACKING_URI"])
    return model_registry.alias_version(client, model_registry.CHAMPION)


def ensure_champion(api: Any, stack: dict[str, str], history: History) -> str:
    """The champion of settlement_fail_risk; without one, the training DAG trains a first model
    on the clean history and its gate bootstraps it (as `make demo` does)."""
    version = champion_version(stack)
    if version is not None:
        return version
    conf = {"business_date": history.training_date.isoformat(), **TRAINING_CONF}
    run = run_training(api, stack, conf)
    version = champion_version(stack)
    assert version is not None, (
        f"{TRAINING_DAG} run {run['dag_run_id']} promoted no champion: see ml.model_promotions "
        "and its promotion_gate and review_promotion logs"
    )
    return version


def run_pipeline(api: Any, history: History) -> dict[str, dict[str, Any]]:
    """The nightly pipeline for the business date after the history, by manual runs in the
    nightly order: feed, then scoring and reconciliation, then the alerts. Returns the runs."""
    day = history.next_date.isoformat()
    runs = {FEED_DAG: run_feed(api, history.next_date)}
    for dag_id in (SCORING_DAG, RECON_DAG, ALERTS_DAG):
        runs[dag_id] = run_dag(api, dag_id, {"business_date": day})
    return runs


# --------------------------------------------------------------------------- backfills


def local_midnight(day: dt.date) -> dt.datetime:
    """A business date's logical date: its midnight in the operations timezone."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo(OPERATIONS_TIMEZONE))


def business_date_of(logical_date: str) -> dt.date:
    start = dt.datetime.fromisoformat(logical_date.replace("Z", "+00:00"))
    return start.astimezone(ZoneInfo(OPERATIONS_TIMEZONE)).date()


def start_backfill(
    api: Any, dag_id: str, first: dt.date, last: dt.date, conf: dict[str, Any] | None = None
) -> int:
    """A backfill of ``first`` .. ``last`` through POST /api/v2/backfills, one run at a time,
    re-running dates that already ran; returns its id."""
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)  # the scheduler starts no run of a paused DAG, backfills included
    for unfinished in api.request("GET", "/backfills", params={"dag_id": dag_id})["backfills"]:
        if unfinished["completed_at"] is None:  # one backfill per DAG at a time
            wait_for_backfill(api, unfinished["id"])
    created = api.request(
        "POST",
        "/backfills",
        json={
            "dag_id": dag_id,
            "from_date": local_midnight(first).isoformat(),
            "to_date": local_midnight(last).isoformat(),
            "max_active_runs": 1,  # in business-date order: aging reads the day before
            "reprocess_behavior": "completed",
            "dag_run_conf": conf or {},
        },
    )
    return int(created["id"])


def runs_between(api: Any, dag_id: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The DAG's runs whose logical dates are the business dates ``first`` .. ``last``, in order."""
    return list(
        api.request(
            "GET",
            f"/dags/{dag_id}/dagRuns",
            params={
                "logical_date_gte": local_midnight(first).isoformat(),
                "logical_date_lte": local_midnight(last).isoformat(),
                "order_by": "logical_date",
            },
        )["dag_runs"]
    )


def backfill(
    api: Any, dag_id: str, first: dt.date, last: dt.date, conf: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """A backfill, waited for; returns the runs of its range."""
    wait_for_backfill(api, start_backfill(api, dag_id, first, last, conf))
    return runs_between(api, dag_id, first, last)


def wait_for_backfill(api: Any, backfill_id: int, timeout: float = 1200) -> None:
    deadline = time.monotonic() + timeout
    while api.request("GET", f"/backfills/{backfill_id}")["completed_at"] is None:
        assert time.monotonic() < deadline, f"backfill {backfill_id} did not complete within {timeout:.0f} s"
        time.sleep(2)


# --------------------------------------------------------------------------- outputs


def s3_client(stack: dict[str, str]) -> Any:
    """The product's S3 client (its timeouts, S3UnavailableError naming S3) with the stack's keys."""
    from include.markets_ops.services import s3

    return s3.client(
        s3.S3Settings(
            endpoint_url=stack["S3_ENDPOINT_URL"],
            access_key=stack["AWS_ACCESS_KEY_ID"],
            secret_key=stack["AWS_SECRET_ACCESS_KEY"],
            region=stack["AWS_DEFAULT_REGION"],
        )
    )


def s3_objects(stack: dict[str, str], prefix: str) -> dict[str, bytes]:
    client = s3_client(stack)
    listing = client.list_objects_v2(Bucket=stack["S3_BUCKET"], Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=stack["S3_BUCKET"], Key=item["Key"])["Body"].read()
        for item in listing
    }


def scores_manifest(stack: dict[str, str], day: dt.date) -> dict[str, Any]:
    from include.markets_ops.scoring.manifest import manifest_key

    body = s3_client(stack).get_object(Bucket=stack["S3_BUCKET"], Key=manifest_key(day))["Body"].read()
    return dict(json.loads(body))


def comparable_scores(objects: dict[str, bytes]) -> dict[str, Any]:
    """Objects as a rerun reproduces them; of the scores: each manifest parsed, without the
    fields that say which run wrote it; each part under its attempt's folder, blanked
    (``run=*``). Its parts must be the ones the manifest lists: no other attempt's remain."""
    from include.markets_ops.scoring.manifest import MANIFEST_NAME, part_keys, without_run_identity

    comparable: dict[str, Any] = {}
    manifests = [json.loads(body) for key, body in objects.items() if key.endswith(MANIFEST_NAME)]
    listed = {key for manifest in manifests for key in part_keys(manifest)}
    for key, body in objects.items():
        if key.endswith(MANIFEST_NAME):
            comparable[key] = without_run_identity(json.loads(body))
        elif key.startswith(SCORES_FOLDER):
            assert key in listed, f"{key} is in S3 but no manifest lists it"
            comparable[ATTEMPT_FOLDER.sub("/run=*/", key)] = body
        else:  # another pipeline's object
            comparable[key] = body
    return comparable


def fingerprint(conn: Any, query: str, params: dict[str, Any]) -> tuple[int, str]:
    """Row count and a hash of the rows in the query's order."""
    digest = hashlib.sha256()
    count = 0
    for row in conn.execute(query, params):
        digest.update(repr(row).encode())
        count += 1
    return count, digest.hexdigest()
