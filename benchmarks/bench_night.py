"""One night at a bank's volume, through Airflow as the scheduler runs it (make bench).

A world of DEMO_HISTORY_DAYS business days (default 30) at DEMO_TRADES_PER_DAY trades a day
(default here 1,000,000: the benchmark's point; ``make demo``'s default is 10,000) is seeded in
bulk into its own database, ``warehouse_bench_night``, dropped afterwards unless
BENCH_NIGHT_KEEP=1 (it takes 28 GB at 1M trades a day, and the seeding benchmark as much again;
kept, a second run at the same volume seeds nothing). For the night, Airflow's four warehouse
connections point at that database; the feed DAG is triggered for the business date after the
history and the rest follows as it does every night: the feed's asset events start scoring and
reconciliation, theirs start the alerts. Afterwards the connections point at ``warehouse``
again (``make up`` also restores them from airflow_settings.yaml if the benchmark is
interrupted).

Reported, and written to var/bench/night-<trades a day>.json and .md: per DAG run and per task instance
the wall time, the time queued, the model job's own peak RSS and the task's; PostgreSQL's peak
memory; the machine's load; the chain's wall time (the feed run queued to the alerts run ended),
its critical path and the orchestration overhead (wall minus the critical path's task time:
benchmarks/night_timeline.py). Targets (the issue's; reported, not asserted): the chain within
5 minutes, overhead at most 25% of it; with a report of a smaller volume in var/bench (run
with ``DEMO_TRADES_PER_DAY=250000`` first), each task's peak RSS against it: at most +20%.

Needs the stack with a champion and the nightly DAGs unpaused (make demo leaves them so).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import Result, airflow_api
from benchmarks.night_timeline import TaskRun, critical_path, overhead
from benchmarks.process_memory import (
    MemorySampler,
    Peaks,
    describe_machine,
    machine_summary,
    wait_for_samples,
)

NAME = "night"
DATABASE = "warehouse_bench_night"
EPOCH = dt.date(2026, 6, 1)  # fixed: the same world and night on every run
DEFAULT_TRADES_PER_DAY = 1_000_000
FEED, SCORING, RECON, ALERTS = (
    "ops_demo_feed",
    "settlement_risk_scoring",
    "trade_reconciliation",
    "ops_sql_alerts",
)
CHAIN = (FEED, SCORING, RECON, ALERTS)
# Whose asset events start whose runs (dags/*.py schedules).
STARTED_BY = {SCORING: {FEED}, RECON: {FEED}, ALERTS: {SCORING, RECON}}
WAREHOUSE_CONNECTIONS = (
    "warehouse_postgres",
    "warehouse_reporting",
    "upstream_simulator",
    "ops_events_outbox",
)
SETTLED_TABLES = (
    "ops.trades",
    "ops.custodian_confirmations",
    "ops.settlement_outcomes",
    "ops.counterparty_settlement_days",
)
CHAIN_TARGET_SECONDS = 300
OVERHEAD_TARGET_SHARE = 0.25
MEMORY_GROWTH_TARGET = 0.20
OUT = Path(__file__).resolve().parents[1] / "var" / "bench"


def run(stack: dict[str, str]) -> list[Result]:
    from include.markets_ops.airflow.switch import SWITCH_VARIABLE
    from include.markets_ops.synthetic.config import (
        DEFAULT_HISTORY_BUSINESS_DAYS,
        DEFAULT_SEED,
        GeneratorConfig,
    )

    trades_per_day = int(os.environ.get("DEMO_TRADES_PER_DAY") or DEFAULT_TRADES_PER_DAY)
    history_days = int(os.environ.get("DEMO_HISTORY_DAYS") or DEFAULT_HISTORY_BUSINESS_DAYS)
    world = GeneratorConfig(seed=DEFAULT_SEED, epoch=EPOCH, trades_per_day=trades_per_day)
    api = airflow_api(stack)
    _check_ready(api, SWITCH_VARIABLE)
    night = _seeded_world(stack, world, history_days)
    try:
        with _warehouse_connections_on(api, DATABASE):
            sampler = MemorySampler()
            sampler.start()
            wait_for_samples(sampler)
            runs = _night(api, night)
            peaks = sampler.stop()
    finally:
        if os.environ.get("BENCH_NIGHT_KEEP") != "1":
            from devstack import postgres

            postgres.drop_scratch_database(DATABASE)
    report = _report(api, runs, peaks, world, night)
    report["memory_growth"] = _memory_growth(report, _smaller_volume_report(trades_per_day))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"night-{trades_per_day}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (OUT / f"night-{trades_per_day}.md").write_text(_markdown(report))
    print(_markdown(report), flush=True)
    return _results(report)


def _smaller_volume_report(trades_per_day: int) -> dict[str, Any] | None:
    """The latest report of the largest volume below this one (var/bench/night-<volume>.json)."""
    volumes = sorted(
        volume
        for path in OUT.glob("night-*.json")
        if (volume := int(path.stem.removeprefix("night-"))) < trades_per_day
    )
    return json.loads((OUT / f"night-{volumes[-1]}.json").read_text()) if volumes else None


def _memory_growth(report: dict[str, Any], smaller: dict[str, Any] | None) -> dict[str, Any] | None:
    """Each task's peak RSS against the same task's at the smaller volume (the issue: no task
    grows more than 20% from 250k to 1M trades a day)."""
    if smaller is None:
        return None
    before = {task["task"]: task["peak_rss_mib"] for task in smaller["tasks"]}
    growth = [
        {"task": task["task"], "from_mib": before[task["task"]], "to_mib": task["peak_rss_mib"]}
        for task in report["tasks"]
        if before.get(task["task"]) and task["peak_rss_mib"]
    ]
    for task in growth:
        task["growth"] = task["to_mib"] / task["from_mib"] - 1
    return {"from_trades_per_day": smaller["volume"]["trades_per_day"], "tasks": growth}


# --------------------------------------------------------------------------- the world


def _seeded_world(stack: dict[str, str], world: Any, history_days: int) -> dt.date:
    """Seed the world unless the database already holds it; the night's business date."""
    from benchmarks.bench_seeding import database_urls, seed_world
    from devstack import postgres
    from include.markets_ops import calendars
    from include.markets_ops.calendars import OPERATIONS_CALENDAR
    from include.markets_ops.synthetic import seed
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    dates = seed.business_dates(world.epoch, history_days)
    night = calendars.add_business_days(dates[-1], 1, OPERATIONS_CALENDAR)
    os.environ["STACK_POSTGRES_PORT"] = stack["POSTGRES_PORT"]
    urls = database_urls(stack, DATABASE)
    if holds_world(urls, world, dates[-1]):
        print(f"    {DATABASE} holds the world already ({world.trades_per_day:,} trades a day)", flush=True)
        upgrade_to_head(urls["owner"])  # a world seeded by an earlier revision
    else:
        print(f"    seeding {DATABASE}: {history_days} business days x {world.trades_per_day:,} trades")
        postgres.create_scratch_database(DATABASE)
        upgrade_to_head(urls["owner"])
        seed_world(urls, world, dates, [])
    settle_world(urls["owner"])
    return night


def settle_world(owner_url: str) -> None:
    """Vacuum the world's big tables before the night, as a warehouse that has been running for
    a while would be: in a freshly seeded one, autovacuum's first pass over tens of GB would
    compete with the night (on a vacuumed table it skips every page: seconds)."""
    import psycopg
    from psycopg import sql

    started = time.monotonic()
    with psycopg.connect(owner_url, autocommit=True) as owner:
        for table in SETTLED_TABLES:
            owner.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(*table.split("."))))
    print(f"    vacuumed the world's tables in {time.monotonic() - started:.0f}s", flush=True)


def holds_world(urls: dict[str, str], world: Any, last_day: dt.date) -> bool:
    import psycopg

    from include.markets_ops.synthetic import truth

    try:
        with psycopg.connect(urls["upstream"], connect_timeout=10) as upstream:
            if truth.load_config(upstream) != world:
                return False
        with psycopg.connect(urls["writer"], connect_timeout=10) as writer:
            row = writer.execute("SELECT max(business_date) FROM ops.trades").fetchone()
    except psycopg.OperationalError:  # no such database yet
        return False
    return row is not None and row[0] is not None and row[0] >= last_day


@contextmanager
def _warehouse_connections_on(api: Any, database: str) -> Iterator[None]:
    """Airflow's warehouse connections pointed at ``database`` for the night, then back."""
    before = {
        conn_id: api.request("GET", f"/connections/{conn_id}")["schema"] for conn_id in WAREHOUSE_CONNECTIONS
    }
    try:
        for conn_id in WAREHOUSE_CONNECTIONS:
            _set_schema(api, conn_id, database)
        yield
    finally:
        for conn_id, schema in before.items():
            _set_schema(api, conn_id, schema)


def _set_schema(api: Any, conn_id: str, schema: str) -> None:
    body = {"connection_id": conn_id, "conn_type": "postgres", "schema": schema}
    api.request("PATCH", f"/connections/{conn_id}", params={"update_mask": "schema"}, json=body)


def _check_ready(api: Any, switch_variable: str) -> None:
    paused = [dag_id for dag_id in CHAIN if api.request("GET", f"/dags/{dag_id}")["is_paused"]]
    if paused or api.get_variable(switch_variable) != "true":
        raise SystemExit(
            f"the nightly DAGs must be unpaused ({paused} are not) and {switch_variable} true: "
            "run `make demo` first"
        )


# --------------------------------------------------------------------------- the night


def _night(api: Any, night: dt.date) -> dict[str, dict[str, Any]]:
    """Trigger the feed for ``night``; wait for the runs its asset events start; their runs."""
    known = {dag_id: _run_ids(api, dag_id) for dag_id in CHAIN}
    print(f"    the night of {night}: triggering {FEED}", flush=True)
    feed_run = api.trigger(FEED, logical_date=None, conf={"business_date": night.isoformat()})
    runs = {FEED: api.wait_for_run(FEED, feed_run, timeout=3600)}
    for dag_id in (SCORING, RECON, ALERTS):
        runs[dag_id] = _wait_for_started_run(api, dag_id, known[dag_id])
    for dag_id, dag_run in runs.items():
        if dag_run["state"] != "success":
            raise SystemExit(
                f"{dag_id} {dag_run['dag_run_id']}: {api.failed_tasks_summary(dag_id, dag_run['dag_run_id'])}"
            )
        print(f"    {dag_id}: {dag_run['dag_run_id']} {dag_run['state']}", flush=True)
    return runs


def _run_ids(api: Any, dag_id: str) -> set[str]:
    runs = api.request("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-id", "limit": 100})
    return {run["dag_run_id"] for run in runs["dag_runs"]}


def _wait_for_started_run(api: Any, dag_id: str, known: set[str], timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.request("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-id", "limit": 10})
        new = [run for run in runs["dag_runs"] if run["dag_run_id"] not in known]
        if new and new[0]["state"] in ("success", "failed"):
            return new[0]
        time.sleep(2)
    raise SystemExit(f"{dag_id}: no run started by the night's asset events ended within {timeout:.0f} s")


# --------------------------------------------------------------------------- the report


def _report(
    api: Any, runs: dict[str, dict[str, Any]], peaks: Peaks, world: Any, night: dt.date
) -> dict[str, Any]:
    tasks = {dag_id: _task_runs(api, dag_id, run["dag_run_id"]) for dag_id, run in runs.items()}
    every_task = [task for dag_tasks in tasks.values() for task in dag_tasks]
    upstream = {key: value for dag_id in CHAIN for key, value in _upstream_tasks(api, dag_id).items()}
    path = critical_path(every_task, upstream, STARTED_BY)
    chain = overhead(path, _stamp(runs[FEED]["queued_at"]), _stamp(runs[ALERTS]["end_date"]))
    return {
        "volume": {"trades_per_day": world.trades_per_day, "epoch": world.epoch, "business_date": night},
        "chain": {
            "wall_seconds": chain.wall_seconds,
            "critical_path_task_seconds": chain.task_seconds,
            "overhead_seconds": chain.seconds,
            "overhead_share": chain.share,
            "critical_path": [
                {"task": task.label, "started": task.started, "seconds": task.seconds} for task in path
            ],
        },
        "dag_runs": {
            dag_id: {
                "run_id": run["dag_run_id"],
                "queued_seconds": (_stamp(run["start_date"]) - _stamp(run["queued_at"])).total_seconds(),
                "wall_seconds": (_stamp(run["end_date"]) - _stamp(run["start_date"])).total_seconds(),
            }
            for dag_id, run in runs.items()
        },
        "tasks": [
            {
                "task": task.label,
                "seconds": task.seconds,
                "queued_seconds": task.queued_seconds,
                "peak_rss_mib": peaks.task_rss.get(task.ti_id, 0.0),
                "job_peak_rss_mib": peaks.job_rss.get(task.ti_id),
            }
            for task in sorted(every_task, key=lambda task: task.started)
        ],
        "postgres_peak_pss_mib": peaks.postgres_pss,
        "machine": machine_summary(peaks),
    }


def _task_runs(api: Any, dag_id: str, run_id: str) -> list[TaskRun]:
    """The run's task instances that ran (skipped ones have no start)."""
    return [
        TaskRun.from_api(dag_id, instance)
        for instance in api.task_instances(dag_id, run_id)
        if instance.get("start_date") and instance.get("end_date")
    ]


def _upstream_tasks(api: Any, dag_id: str) -> dict[tuple[str, str], set[str]]:
    upstream: dict[tuple[str, str], set[str]] = {}
    for task in api.request("GET", f"/dags/{dag_id}/tasks")["tasks"]:
        upstream.setdefault((dag_id, task["task_id"]), set())
        for downstream in task["downstream_task_ids"]:
            upstream.setdefault((dag_id, downstream), set()).add(task["task_id"])
    return upstream


def _stamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _markdown(report: dict[str, Any]) -> str:
    volume, chain, machine = report["volume"], report["chain"], report["machine"]
    lines = [
        f"# The night of {volume['business_date']} at {volume['trades_per_day']:,} trades a day",
        "",
        f"Chain (feed queued -> alerts ended): **{chain['wall_seconds']:.1f} s** "
        f"(target {CHAIN_TARGET_SECONDS} s); "
        f"critical path in tasks {chain['critical_path_task_seconds']:.1f} s; "
        f"orchestration overhead **{chain['overhead_seconds']:.1f} s = {chain['overhead_share']:.1%}** "
        f"(target {OVERHEAD_TARGET_SHARE:.0%}).",
        f"{describe_machine(machine)} "
        f"PostgreSQL peak memory (PSS) {report['postgres_peak_pss_mib']:,.0f} MiB.",
        "",
        "| DAG run | queued s | wall s |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {dag} | {r['queued_seconds']:.1f} | {r['wall_seconds']:.1f} |"
        for dag, r in report["dag_runs"].items()
    ]
    lines += [
        "",
        "| task | queued s | wall s | peak RSS MiB | model job peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for task in report["tasks"]:
        job = f"{task['job_peak_rss_mib']:,.0f}" if task["job_peak_rss_mib"] else ""
        lines.append(
            f"| {task['task']} | {task['queued_seconds']:.1f} | {task['seconds']:.1f} | "
            f"{task['peak_rss_mib']:,.0f} | {job} |"
        )
    lines += ["", "Critical path:", ""]
    lines += [f"- {step['task']}: {step['seconds']:.1f} s" for step in chain["critical_path"]]
    if growth := report.get("memory_growth"):
        lines += [
            "",
            f"Peak RSS from {growth['from_trades_per_day']:,} to {volume['trades_per_day']:,} trades a day "
            f"(target: at most +{MEMORY_GROWTH_TARGET:.0%}):",
            "",
            "| task | MiB before | MiB now | growth |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {task['task']} | {task['from_mib']:,.0f} | {task['to_mib']:,.0f} | {task['growth']:+.0%}"
            f"{' **over**' if task['growth'] > MEMORY_GROWTH_TARGET else ''} |"
            for task in growth["tasks"]
        ]
    return "\n".join(lines) + "\n"


def _results(report: dict[str, Any]) -> list[Result]:
    volume = f"{report['volume']['trades_per_day']:,} trades/day"
    chain = report["chain"]
    heaviest = max(report["tasks"], key=lambda task: task["peak_rss_mib"])
    results = [
        Result(
            NAME, "chain wall time", chain["wall_seconds"], "s", f"{volume}; target {CHAIN_TARGET_SECONDS} s"
        ),
        Result(
            NAME,
            "orchestration overhead",
            chain["overhead_share"] * 100,
            "%",
            f"target {OVERHEAD_TARGET_SHARE:.0%}",
        ),
        Result(NAME, "largest task peak RSS", heaviest["peak_rss_mib"], "MiB", heaviest["task"]),
        Result(NAME, "PostgreSQL peak PSS", report["postgres_peak_pss_mib"], "MiB", volume),
        Result(
            NAME,
            "load average (1 min), max",
            report["machine"]["load_1m_max"],
            "",
            f"{report['machine']['cores']} cores",
        ),
    ]
    if growth := report.get("memory_growth"):
        largest = max(growth["tasks"], key=lambda task: task["growth"])
        note = f"from {growth['from_trades_per_day']:,} trades/day: {largest['task']}"
        results.append(Result(NAME, "largest peak RSS growth", largest["growth"] * 100, "%", note))
    return results
