"""``make demo``: the nightly pipeline for one business date, end to end, on the local stack.

A readable sequence of steps; each prints what it did. Add a step by writing a function that
takes the Demo and appending it to STEPS.

Settings (environment):
  DEMO_DATE              the business date to run (default: the latest business date whose
                         nightly run is due, so the UI's run list and tonight's schedule
                         continue from it)
  DEMO_HISTORY_DAYS      business days of history seeded before it (default 30)
  DEMO_TRADES_PER_DAY    trades booked per business day (default 10,000)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack import mlflow, stack_env
from devstack.airflow_api import AirflowApi
from devstack.config import S3_BUCKET, Stack
from devstack.kafka import READER_USER
from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR
from include.markets_ops.dashboard import URL_PREFIX
from include.markets_ops.synthetic.config import (
    DEFAULT_HISTORY_BUSINESS_DAYS,
    DEFAULT_SEED,
    DEFAULT_TRADES_PER_DAY,
    GeneratorConfig,
    default_epoch,
)

FEED_DAG = "ops_demo_feed"
TRAINING_DAG = "settlement_risk_training"
APPROVAL_TASK = "approve_promotion"
APPROVER = "op"  # answers the promotion's approval request, as the ops approver would in the UI
SCORING_DAG = "settlement_risk_scoring"
RECON_DAG = "trade_reconciliation"
ALERTS_DAG = "ops_sql_alerts"
NIGHTLY_DAGS = (FEED_DAG, SCORING_DAG, RECON_DAG, ALERTS_DAG, TRAINING_DAG)
TERMINAL = {"success", "failed"}
RECON_BACKFILL_DAYS = 3


class DemoError(RuntimeError):
    pass


@dataclass
class Demo:
    stack: Stack
    api: AirflowApi
    approver: AirflowApi  # logged in as APPROVER: a second person, as the four-eyes rule wants
    demo_date: dt.date
    history_days: int
    trades_per_day: int
    facts: dict[str, Any] = field(default_factory=dict)  # what the steps found, for the summary

    def url(self, role: str) -> str:
        return self.stack.pg_url(role, "warehouse")


def settings_from_environment() -> tuple[dt.date, int, int]:
    from include.markets_ops.airflow.schedules import latest_complete_business_date

    default = latest_complete_business_date(dt.datetime.now(dt.UTC))
    demo_date = dt.date.fromisoformat(os.environ.get("DEMO_DATE") or default.isoformat())
    if not calendars.is_business_day(demo_date, OPERATIONS_CALENDAR):
        raise DemoError(f"DEMO_DATE {demo_date} is not a {OPERATIONS_CALENDAR} business day")
    history_days = int(os.environ.get("DEMO_HISTORY_DAYS", DEFAULT_HISTORY_BUSINESS_DAYS))
    trades_per_day = int(os.environ.get("DEMO_TRADES_PER_DAY", DEFAULT_TRADES_PER_DAY))
    return demo_date, history_days, trades_per_day


# --------------------------------------------------------------------------- steps


def seed_history(demo: Demo) -> None:
    """Seed the business days before the demo date: a new stretch in bulk as the warehouse's
    owner, else through the feed's loader as the writer (truth as upstream_feed)."""
    from include.markets_ops.services import postgres
    from include.markets_ops.synthetic import seed, truth

    requested = GeneratorConfig(
        seed=DEFAULT_SEED,
        epoch=default_epoch(demo.demo_date, demo.history_days),
        trades_per_day=demo.trades_per_day,
    )
    with (
        postgres.connect(demo.url("upstream_feed")) as upstream,
        postgres.connect(demo.url("warehouse_writer")) as writer,
    ):
        world = _world_to_continue(truth.load_config(upstream), requested, demo.demo_date)
        last = calendars.previous_business_day(demo.demo_date, OPERATIONS_CALENDAR)
        dates = list(calendars.business_days(world.epoch, last, OPERATIONS_CALENDAR))
        print(
            f"  world: {truth.describe(world)}; seeding {len(dates)} business days {dates[0]} .. {dates[-1]}"
        )
        # In bulk as the owner (synthetic/bulk.py) when the dates follow every loaded one.
        report = seed.seed_history(
            writer, upstream, world, dates, progress=_every_fifth_day(), owner_url=demo.url("warehouse_owner")
        )
    demo.facts["world"] = world
    demo.facts["history"] = (dates[0], dates[-1], len(dates))
    print(
        f"  seeded {report.total_rows:,} rows in {report.seconds:.0f}s "
        f"({report.total_rows / max(report.seconds, 1e-9):,.0f} rows/s, generation included)"
    )


def _world_to_continue(
    stored: GeneratorConfig | None, requested: GeneratorConfig, demo_date: dt.date
) -> GeneratorConfig:
    """The stored world if it is the demo's (same seed, volume and rates; an earlier or equal
    epoch only lengthens the history), else the requested one when none is stored."""
    if stored is None:
        return requested
    same_world = (
        GeneratorConfig.from_json({**stored.to_json(), "epoch": requested.epoch.isoformat()}) == requested
    )
    if same_world and stored.epoch < demo_date:
        return stored
    raise DemoError(
        f"the warehouse holds another synthetic world (seed {stored.seed}, epoch {stored.epoch}, "
        f"{stored.trades_per_day} trades/day) than the demo's (seed {requested.seed}, "
        f"{requested.trades_per_day} trades/day, before {demo_date}). Start over with: "
        "set -a; . var/stack.env; set +a; .venv/bin/python -m include.markets_ops.synthetic reset --yes"
    )


def _every_fifth_day() -> Callable[[str], None]:
    lines = iter(range(10**9))

    def show(line: str) -> None:
        if next(lines) % 5 == 0:
            print(line, flush=True)

    return show


def hand_the_schedule_to_the_demo(demo: Demo) -> None:
    """Unpause the nightly DAGs with the schedule switch off, then switch it on."""
    from include.markets_ops.airflow.switch import SWITCH_VARIABLE

    # Unpausing a business-day DAG makes the scheduler start its latest due run at once. The
    # demo drives its date itself, so those first automatic runs skip themselves (switch off);
    # from then on the schedule and the asset events run the pipeline (switch on).
    demo.api.set_variable(SWITCH_VARIABLE, "false")
    known = {dag_id: _recent_run_ids(demo, dag_id) for dag_id in NIGHTLY_DAGS}
    unpaused = []
    for dag_id in NIGHTLY_DAGS:
        demo.api.wait_for_dag(dag_id)
        if demo.api.request("GET", f"/dags/{dag_id}")["is_paused"]:
            demo.api.unpause(dag_id)
            unpaused.append(dag_id)
    for dag_id in unpaused:
        runs = _wait_for_new_runs(demo, dag_id, known[dag_id], appear_within=45)
        print(f"  unpaused {dag_id}: {len(runs)} scheduled run(s) skipped themselves", flush=True)
    demo.api.set_variable(SWITCH_VARIABLE, "true")
    print(f"  {SWITCH_VARIABLE} = true: scheduled and asset-triggered runs proceed from now on")


def bootstrap_champion(demo: Demo) -> None:
    """Train a first model and promote it, unless a champion exists."""
    from include.markets_ops.services import model_registry

    client = model_registry.client(demo.stack.mlflow_uri, mlflow.reader(demo.stack))
    version = model_registry.alias_version(client, model_registry.CHAMPION)
    if version is not None:
        print(f"  champion: {model_registry.MODEL_NAME} version {version} (kept)")
        return
    training_date = calendars.previous_business_day(demo.demo_date, OPERATIONS_CALENDAR)
    _run_and_wait(
        demo, TRAINING_DAG, {"business_date": training_date.isoformat()}, timeout=1800, on_run=_approve
    )
    version = model_registry.alias_version(client, model_registry.CHAMPION)
    if version is None:
        raise DemoError(
            f"{TRAINING_DAG} finished but the gate promoted no champion: see its promotion_gate task "
            "log and ml.model_promotions"
        )
    print(
        f"  champion: {model_registry.MODEL_NAME} version {version} (passed the gate, approved by {APPROVER})"
    )


def _approve(demo: Demo, run_id: str) -> None:
    """Answer the run's approval request through the REST API, as the approver would in the UI
    (until the run ends: a retried request is answered again)."""
    comment = "make demo: the demo's approver checked the gate's results in the request"
    while demo.approver.wait_until_asked(TRAINING_DAG, run_id, APPROVAL_TASK, timeout=1800):
        request = demo.approver.hitl_detail(TRAINING_DAG, run_id, APPROVAL_TASK)
        print(f"  approval requested: {request['subject']}", flush=True)
        demo.approver.answer(
            TRAINING_DAG, run_id, APPROVAL_TASK, "Approve", params_input={"comment": comment}
        )
        print(
            f"  approved by {APPROVER} through the REST API (in the UI: Browse > Required Actions)",
            flush=True,
        )
        demo.facts["approval"] = (run_id, APPROVER, comment)


def backfill_reconciliation(demo: Demo) -> None:
    """Backfill the reconciliation over the last days of history (so breaks have an age)."""
    from zoneinfo import ZoneInfo

    from include.markets_ops.calendars import OPERATIONS_TIMEZONE

    first = calendars.add_business_days(demo.demo_date, -RECON_BACKFILL_DAYS, OPERATIONS_CALENDAR)
    last = calendars.previous_business_day(demo.demo_date, OPERATIONS_CALENDAR)

    def local_midnight(day: dt.date) -> dt.datetime:
        # The business-day timetable's logical dates are local midnights of the business dates.
        return dt.datetime.combine(day, dt.time(), ZoneInfo(OPERATIONS_TIMEZONE))

    backfill = demo.api.request(
        "POST",
        "/backfills",
        json={
            "dag_id": RECON_DAG,
            "from_date": local_midnight(first).isoformat(),
            "to_date": local_midnight(last).isoformat(),
            "max_active_runs": 1,  # in business-date order: aging reads the day before
            "reprocess_behavior": "completed",
        },
    )
    print(f"  backfill {backfill['id']} of {RECON_DAG}: {first} .. {last}", flush=True)
    deadline = time.monotonic() + 900
    while demo.api.request("GET", f"/backfills/{backfill['id']}")["completed_at"] is None:
        if time.monotonic() > deadline:
            raise DemoError(f"backfill {backfill['id']} of {RECON_DAG} did not complete within 900 s")
        time.sleep(3)
    runs = demo.api.request(
        "GET", f"/dags/{RECON_DAG}/dagRuns", params={"run_type": "backfill", "order_by": "-id", "limit": 10}
    )["dag_runs"][:RECON_BACKFILL_DAYS]
    failed = [run["dag_run_id"] for run in runs if run["state"] != "success"]
    if failed:
        raise DemoError(f"backfill {backfill['id']} of {RECON_DAG}: runs not successful: {failed}")
    print(f"  {len(runs)} backfill runs succeeded")


def run_feed(demo: Demo) -> None:
    """Run ops_demo_feed for the demo date; its assets start scoring and reconciliation."""
    demo.facts["known_runs"] = {dag_id: _recent_run_ids(demo, dag_id) for dag_id in NIGHTLY_DAGS}
    run_id = _run_and_wait(demo, FEED_DAG, {"business_date": demo.demo_date.isoformat()}, timeout=900)
    path = f"/dags/{FEED_DAG}/dagRuns/{run_id}/taskInstances/report_counts/xcomEntries/return_value"
    demo.facts["feed"] = demo.api.request("GET", path)["value"]
    demo.facts["feed_run"] = run_id


def wait_for_scoring_and_reconciliation(demo: Demo) -> None:
    """Wait for the asset-triggered scoring and reconciliation runs."""
    for dag_id in (SCORING_DAG, RECON_DAG):
        _wait_for_pipeline_run(demo, dag_id)


def wait_for_alerts(demo: Demo) -> None:
    """Wait for the alert rules, triggered by the new scores and breaks."""
    _wait_for_pipeline_run(demo, ALERTS_DAG)


def _wait_for_pipeline_run(demo: Demo, dag_id: str) -> None:
    runs = _wait_for_new_runs(demo, dag_id, demo.facts["known_runs"][dag_id], appear_within=120)
    if not runs:
        raise DemoError(
            f"no {dag_id} run started within 120 s of the feed's asset events: is the DAG paused, "
            "or the Variable nightly_schedule_enabled false?"
        )
    latest = runs[-1]
    if latest["state"] != "success":
        failed = demo.api.failed_tasks_summary(dag_id, latest["dag_run_id"])
        raise DemoError(f"{dag_id} run {latest['dag_run_id']} {latest['state']}: {failed}")
    demo.facts.setdefault("runs", {})[dag_id] = latest["dag_run_id"]
    print(f"  {dag_id}: {latest['run_type']} run {latest['dag_run_id']} {latest['state']}", flush=True)


def _run_and_wait(
    demo: Demo,
    dag_id: str,
    conf: dict[str, Any],
    timeout: float,
    on_run: Callable[[Demo, str], None] | None = None,
) -> str:
    started = time.monotonic()
    run_id = demo.api.trigger(dag_id, logical_date=None, conf=conf)
    print(f"  triggered {dag_id} run {run_id} ({', '.join(f'{k}={v}' for k, v in conf.items())})", flush=True)
    if on_run is not None:
        on_run(demo, run_id)
    run = demo.api.wait_for_run(dag_id, run_id, timeout=timeout)
    if run["state"] != "success":
        raise DemoError(
            f"{dag_id} run {run_id} {run['state']}: {demo.api.failed_tasks_summary(dag_id, run_id)}"
        )
    print(f"  {run['state']} in {time.monotonic() - started:.0f}s", flush=True)
    demo.facts.setdefault("runs", {})[dag_id] = run_id
    return run_id


def _recent_runs(demo: Demo, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's latest 100 runs, oldest first."""
    runs = demo.api.request("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-id", "limit": 100})
    return list(reversed(runs["dag_runs"]))


def _recent_run_ids(demo: Demo, dag_id: str) -> set[str]:
    return {run["dag_run_id"] for run in _recent_runs(demo, dag_id)}


def _wait_for_new_runs(
    demo: Demo, dag_id: str, known: set[str], appear_within: float, timeout: float = 1200
) -> list[dict[str, Any]]:
    """The runs of ``dag_id`` not in ``known``, once none is still active (oldest first);
    empty when none appeared within ``appear_within`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        runs = [run for run in _recent_runs(demo, dag_id) if run["dag_run_id"] not in known]
        if runs and all(run["state"] in TERMINAL for run in runs):
            return runs
        if not runs and time.monotonic() - started > appear_within:
            return []
        time.sleep(3)
    raise DemoError(f"{dag_id}: new runs still active after {timeout:.0f}s")


def warehouse_totals(demo: Demo) -> None:
    """Read what the night produced (read-only role, S3, Kafka, MLflow)."""
    from include.markets_ops.services import model_registry, postgres

    day = demo.demo_date
    with postgres.connect(demo.url("reporting_reader")) as reader:
        demo.facts["totals"] = reader.execute(
            """
            SELECT (SELECT count(*) FROM ops.trades),
                   (SELECT count(*) FROM ops.trades WHERE status = 'pending'),
                   (SELECT count(*) FROM ops.custodian_confirmations),
                   (SELECT count(*) FROM ops.settlement_outcomes),
                   (SELECT count(*) FILTER (WHERE outcome = 'failed')::float
                           / nullif(count(DISTINCT trade_id), 0) FROM ops.settlement_outcomes),
                   (SELECT count(*) FROM reporting.quarantine)
            """
        ).fetchone()
        demo.facts["scores"] = reader.execute(
            "SELECT risk_band, count(*), min(model_version), max(model_version) FROM ml.trade_scores "
            "WHERE business_date = %s GROUP BY 1 ORDER BY 1",
            [day],
        ).fetchall()
        demo.facts["shadow"] = reader.execute(
            "SELECT model_version, count(*) FROM ml.shadow_scores WHERE business_date = %s GROUP BY 1",
            [day],
        ).fetchall()
        demo.facts["breaks"] = reader.execute(
            "SELECT break_type, count(*) FILTER (WHERE status = 'open'), "
            "count(*) FILTER (WHERE status = 'resolved'), max(age_business_days) "
            "FROM reporting.recon_breaks WHERE business_date = %s GROUP BY 1 ORDER BY 1",
            [day],
        ).fetchall()
        demo.facts["alerts"] = reader.execute(
            "SELECT rule_id, severity, count(*), count(*) FILTER (WHERE is_new) FROM reporting.alerts "
            "WHERE business_date = %s GROUP BY 1, 2 ORDER BY 1",
            [day],
        ).fetchall()
        demo.facts["promotions"] = reader.execute(
            "SELECT candidate_version, decision, metrics->'challenger'->>'roc_auc', decided_at::date, "
            "review_outcome, reviewed_by FROM ml.model_promotions ORDER BY decided_at DESC LIMIT 3"
        ).fetchall()
    client = model_registry.client(demo.stack.mlflow_uri, mlflow.reader(demo.stack))
    demo.facts["champion"] = model_registry.alias_version(client, model_registry.CHAMPION)
    demo.facts["objects"] = _objects_of_the_date(demo)
    demo.facts["kafka"] = _messages_of_the_date(demo)


def _print_scores(demo: Demo, indent: str) -> None:
    """The night's scores: bands, the S3 manifest, and the challenger's shadow scores if any."""
    scored = sum(count for _, count, _, _ in demo.facts["scores"])
    bands = ", ".join(f"{band} {count:,}" for band, count, _, _ in demo.facts["scores"])
    print(f"  Scores         {scored:,} pending trades scored ({bands})")
    manifest = [key for key in demo.facts["objects"]["scores"] if key.endswith("_manifest.json")]
    parts = len(demo.facts["objects"]["scores"]) - len(manifest)
    where = manifest[0] if manifest else "(no manifest!)"
    print(f"{indent}s3://{S3_BUCKET}/{where} ({parts} Parquet part{'' if parts == 1 else 's'})")
    for version, count in demo.facts["shadow"]:
        print(f"{indent}in shadow: challenger v{version} scored {count:,} of them too (ml.shadow_scores)")
    if not demo.facts["shadow"]:
        print(f"{indent}no challenger to score in shadow")


def _objects_of_the_date(demo: Demo) -> dict[str, list[str]]:
    from include.markets_ops.services import s3 as s3_service

    values = stack_env.stack_values(demo.stack)
    s3 = s3_service.client(
        s3_service.S3Settings(
            endpoint_url=demo.stack.s3_endpoint,
            access_key=values["AWS_ACCESS_KEY_ID"],
            secret_key=values["AWS_SECRET_ACCESS_KEY"],
            region=values.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
    )
    prefixes = {
        "scores": f"scores/business_date={demo.demo_date}/",
        "recon": f"reports/recon/business_date={demo.demo_date}/",
        "alerts": f"reports/alerts/business_date={demo.demo_date}/",
    }
    return {
        name: sorted(
            item["Key"] for item in s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix).get("Contents", [])
        )
        for name, prefix in prefixes.items()
    }


def _messages_of_the_date(demo: Demo) -> dict[str, int]:
    """Distinct message keys of the demo date on each output topic (a rerun republishes the
    same keys with the same values; the topics are compacted, but the log cleaner never
    touches the active segment, so the duplicates stay until it rolls: count keys)."""
    from confluent_kafka import TopicPartition

    from include.markets_ops.services import kafka
    from include.markets_ops.services.topics import HIGH_RISK_TRADES, OPS_ALERTS, RECON_SUMMARY

    day = demo.demo_date.isoformat()
    consumer = kafka.consumer(demo.stack.kafka_client(READER_USER), "demo-summary")
    counts: dict[str, int] = {}
    try:
        for topic in (HIGH_RISK_TRADES.name, RECON_SUMMARY.name, OPS_ALERTS.name):
            keys: set[str] = set()
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
            }
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions if ends[p] > 0])
            remaining = {p for p, end in ends.items() if end > 0}
            deadline = time.monotonic() + 60
            while remaining and time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None or message.error():
                    continue
                partition, offset = message.partition(), message.offset() or 0
                if partition is not None and offset + 1 >= ends[partition]:
                    remaining.discard(partition)
                value = json.loads(message.value() or b"null")
                if isinstance(value, dict) and value.get("business_date") == day:
                    keys.add((message.key() or b"").decode())
            counts[topic] = len(keys)
    finally:
        consumer.close()
    return counts


MODEL_JOB_TASKS = {
    SCORING_DAG: ("score_shard",),
    TRAINING_DAG: ("build_training_set", "train_model", "evaluate_challenger"),
}


def model_job_pods(demo: Demo) -> None:
    """Where the night's model jobs ran: with JOB_RUNTIME=kubernetes, the pod of each job."""
    if os.environ.get("JOB_RUNTIME", "local").strip().lower() != "kubernetes":
        return
    pods: list[tuple[str, str]] = []
    for dag_id, tasks in MODEL_JOB_TASKS.items():
        run_id = demo.facts.get("runs", {}).get(dag_id)
        if run_id is None:
            continue
        for ti in demo.api.task_instances(dag_id, run_id):
            if ti["task_id"] in tasks:
                name = demo.api.xcom(dag_id, run_id, ti["task_id"], "pod_name", ti["map_index"])
                label = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
                pods.append((label, name))
    demo.facts["pods"] = pods
    print(f"  {len(pods)} model job pods ran on the local cluster", flush=True)


STEPS: list[Callable[[Demo], None]] = [
    seed_history,
    hand_the_schedule_to_the_demo,
    bootstrap_champion,
    backfill_reconciliation,
    run_feed,
    wait_for_scoring_and_reconciliation,
    wait_for_alerts,
    model_job_pods,
    warehouse_totals,
]


# --------------------------------------------------------------------------- summary


def print_summary(demo: Demo) -> None:
    from devstack.__main__ import print_where_to_look

    first, last, days = demo.facts["history"]
    feed = demo.facts["feed"]
    day = demo.demo_date
    trades, pending, statement_rows, outcomes, fail_rate, quarantined = demo.facts["totals"]
    indent = " " * 17
    print(f"\n  Demo date      {day}   (history: {days} business days, {first} .. {last})")
    print(
        f"  World          seed {demo.facts['world'].seed}, {demo.facts['world'].trades_per_day:,} trades/day"
    )
    print(f"  Warehouse      {trades:,} trades ({pending:,} pending), {statement_rows:,} statement rows,")
    print(f"{indent}{outcomes:,} settlement events (fail rate {fail_rate:.1%}), {quarantined:,} quarantined")
    print(f"  Feed           {FEED_DAG} / {demo.facts['feed_run']}")
    for name in ("trades", "custodian_confirmations", "settlement_outcomes"):
        source = feed["sources"][name]
        rules = ", ".join(f"{rule} {count}" for rule, count in source["quarantined_by_rule"].items()) or "-"
        loaded, rejected = source["loaded"], source["quarantined"]
        print(f"    {name:<24} loaded {loaded:>7,}  quarantined {rejected:>4,}  ({rules})")
    print(f"  Model          champion settlement_fail_risk v{demo.facts['champion']}; latest decisions:")
    for version, decision, auc, decided, review, reviewer in demo.facts["promotions"]:
        auc_text = f"ROC AUC {float(auc):.3f}" if auc else ""
        review_text = f", {review} by {reviewer}" if reviewer else (f", review {review}" if review else "")
        print(f"{indent}v{version} {decision} on {decided} {auc_text}{review_text}")
    if "approval" in demo.facts:
        run_id, approver, _ = demo.facts["approval"]
        print(f"{indent}approval request of {run_id} answered by {approver} through the REST API")
    _print_scores(demo, indent)
    open_breaks = sum(row[1] for row in demo.facts["breaks"])
    print(
        f"  Recon breaks   {open_breaks:,} open: "
        + ", ".join(f"{row[0]} {row[1]}" for row in demo.facts["breaks"])
    )
    oldest = max((row[3] or 0 for row in demo.facts["breaks"]), default=0)
    resolved = sum(row[2] for row in demo.facts["breaks"])
    print(f"{indent}{resolved:,} resolved today, oldest open {oldest} business days")
    for key in demo.facts["objects"]["recon"]:
        print(f"{indent}s3://{S3_BUCKET}/{key}")
    total_alerts = sum(row[2] for row in demo.facts["alerts"])
    print(f"  Alerts         {total_alerts:,} tonight:")
    for rule, severity, count, new in demo.facts["alerts"]:
        print(f"{indent}{rule:<34} {severity:<8} {count:>5,} ({new:,} new)")
    for key in demo.facts["objects"]["alerts"]:
        print(f"{indent}s3://{S3_BUCKET}/{key}")
    kafka = ", ".join(f"{topic} {count:,}" for topic, count in demo.facts["kafka"].items())
    print(f"  Kafka          messages of {day} (distinct keys): {kafka}")
    print(
        "  Runs           " + ", ".join(f"{dag} / {run}" for dag, run in demo.facts.get("runs", {}).items())
    )
    if "pods" in demo.facts:
        print("  Model jobs     pods of the model image on the local cluster (JOB_RUNTIME=kubernetes):")
        for label, name in demo.facts["pods"]:
            print(f"{indent}{label:<22} {name}")
    else:
        print("  Model jobs     local processes (JOB_RUNTIME=local; as pods: make k8s-up, then")
        print(f"{indent}JOB_RUNTIME=kubernetes make demo)")
    print_where_to_look(demo.stack)
    print(f"  Dashboard      {demo.stack.airflow_url}{URL_PREFIX}/?business_date={day}")


def main() -> int:
    try:
        demo_date, history_days, trades_per_day = settings_from_environment()
        stack = Stack.load()
        values = stack_env.stack_values(stack)
        api = AirflowApi(stack.airflow_url, values["AIRFLOW_USERNAME"], values["AIRFLOW_PASSWORD"])
        approver = AirflowApi(stack.airflow_url, APPROVER, values[f"AIRFLOW_{APPROVER.upper()}_PASSWORD"])
        demo = Demo(stack, api, approver, demo_date, history_days, trades_per_day)
        for number, step in enumerate(STEPS, start=1):
            print(f"==> {number}. {(step.__doc__ or step.__name__).strip().splitlines()[0]}", flush=True)
            step(demo)
        print_summary(demo)
    except DemoError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
