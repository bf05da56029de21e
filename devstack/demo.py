"""``make demo``: the nightly pipeline for one business date, end to end, on the local stack.

A readable sequence of steps; each prints what it did. Add a step by writing a function that
takes the Demo and appending it to STEPS.

Settings (environment):
  DEMO_DATE              the business date to run (default 2026-10-30, the last NYSE business
                         day of October 2026: fixed, so every run tells the same story)
  DEMO_HISTORY_DAYS      business days of history seeded before it (default 30)
  DEMO_TRADES_PER_DAY    trades booked per business day (default 10,000)
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack import stack_env
from devstack.airflow_api import AirflowApi
from devstack.config import S3_BUCKET, Stack
from include.markets_ops import calendars
from include.markets_ops.synthetic.config import (
    DEFAULT_HISTORY_BUSINESS_DAYS,
    DEFAULT_SEED,
    DEFAULT_TRADES_PER_DAY,
    DEMO_DATE,
    OPERATIONS_CALENDAR,
    GeneratorConfig,
    default_epoch,
)

FEED_DAG = "ops_demo_feed"


class DemoError(RuntimeError):
    pass


@dataclass
class Demo:
    stack: Stack
    api: AirflowApi
    demo_date: dt.date
    history_days: int
    trades_per_day: int
    facts: dict[str, Any] = field(default_factory=dict)  # what the steps found, for the summary

    def url(self, role: str) -> str:
        return self.stack.pg_url(role, "warehouse")


def settings_from_environment() -> tuple[dt.date, int, int]:
    demo_date = dt.date.fromisoformat(os.environ.get("DEMO_DATE", DEMO_DATE.isoformat()))
    if not calendars.is_business_day(demo_date, OPERATIONS_CALENDAR):
        raise DemoError(f"DEMO_DATE {demo_date} is not a {OPERATIONS_CALENDAR} business day")
    history_days = int(os.environ.get("DEMO_HISTORY_DAYS", DEFAULT_HISTORY_BUSINESS_DAYS))
    trades_per_day = int(os.environ.get("DEMO_TRADES_PER_DAY", DEFAULT_TRADES_PER_DAY))
    return demo_date, history_days, trades_per_day


# --------------------------------------------------------------------------- steps


def seed_history(demo: Demo) -> None:
    """Seed the business days before the demo date: ops.* as the writer, truth as upstream_feed."""
    import psycopg

    from include.markets_ops.synthetic import seed, truth

    requested = GeneratorConfig(
        seed=DEFAULT_SEED,
        epoch=default_epoch(demo.demo_date, demo.history_days),
        trades_per_day=demo.trades_per_day,
    )
    with (
        psycopg.connect(demo.url("upstream_feed")) as upstream,
        psycopg.connect(demo.url("warehouse_writer")) as writer,
    ):
        world = _world_to_continue(truth.load_config(upstream), requested, demo.demo_date)
        last = calendars.previous_business_day(demo.demo_date, OPERATIONS_CALENDAR)
        dates = list(calendars.business_days(world.epoch, last, OPERATIONS_CALENDAR))
        print(
            f"  world: {truth.describe(world)}; seeding {len(dates)} business days {dates[0]} .. {dates[-1]}"
        )
        report = seed.seed_history(writer, upstream, world, dates, progress=_every_fifth_day())
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


def run_feed(demo: Demo) -> None:
    """Trigger ops_demo_feed for the demo date through the Airflow REST API and wait."""
    demo.api.wait_for_dag(FEED_DAG)
    demo.api.unpause(FEED_DAG)
    started = time.monotonic()
    run_id = demo.api.trigger(FEED_DAG, logical_date=None, conf={"business_date": demo.demo_date.isoformat()})
    print(f"  triggered {FEED_DAG} run {run_id} for {demo.demo_date}", flush=True)
    run = demo.api.wait_for_run(FEED_DAG, run_id, timeout=900)
    if run["state"] != "success":
        raise DemoError(
            f"{FEED_DAG} run {run_id} {run['state']}: {demo.api.failed_tasks_summary(FEED_DAG, run_id)}"
        )
    path = f"/dags/{FEED_DAG}/dagRuns/{run_id}/taskInstances/report_counts/xcomEntries/return_value"
    demo.facts["feed"] = demo.api.request("GET", path)["value"]
    demo.facts["feed_run"] = run_id
    print(f"  {run['state']} in {time.monotonic() - started:.0f}s")


def warehouse_totals(demo: Demo) -> None:
    """What the warehouse now holds (read-only role)."""
    import psycopg

    with psycopg.connect(demo.url("reporting_reader")) as reader:
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


STEPS: list[Callable[[Demo], None]] = [seed_history, run_feed, warehouse_totals]


# --------------------------------------------------------------------------- summary


def print_summary(demo: Demo) -> None:
    from devstack.__main__ import print_where_to_look

    first, last, days = demo.facts["history"]
    feed = demo.facts["feed"]
    trades, pending, statement_rows, outcomes, fail_rate, quarantined = demo.facts["totals"]
    print(f"\n  Demo date      {demo.demo_date}   (history: {days} business days, {first} .. {last})")
    print(
        f"  World          seed {demo.facts['world'].seed}, {demo.facts['world'].trades_per_day:,} trades/day"
    )
    print(f"  Warehouse      {trades:,} trades ({pending:,} pending), {statement_rows:,} statement rows,")
    indent = " " * 17
    print(f"{indent}{outcomes:,} settlement events (fail rate {fail_rate:.1%}), {quarantined:,} quarantined")
    print(f"  Feed run       {FEED_DAG} / {demo.facts['feed_run']}")
    for name in ("trades", "custodian_confirmations", "settlement_outcomes"):
        source = feed["sources"][name]
        rules = ", ".join(f"{rule} {count}" for rule, count in source["quarantined_by_rule"].items()) or "-"
        loaded, quarantined = source["loaded"], source["quarantined"]
        print(f"    {name:<24} loaded {loaded:>7,}  quarantined {quarantined:>4,}  ({rules})")
    print(f"  Landing files  s3://{S3_BUCKET}/landing/<source>/business_date={demo.demo_date}/")
    print(
        "  Assets         ops.trades, ops.custodian_confirmations, ops.settlement_outcomes "
        f"(extra business_date={demo.demo_date})"
    )
    print_where_to_look(demo.stack)


def main() -> int:
    try:
        demo_date, history_days, trades_per_day = settings_from_environment()
        stack = Stack.load()
        values = stack_env.stack_values(stack)
        api = AirflowApi(stack.airflow_url, values["AIRFLOW_USERNAME"], values["AIRFLOW_PASSWORD"])
        demo = Demo(stack, api, demo_date, history_days, trades_per_day)
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
