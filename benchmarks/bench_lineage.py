"""What lineage costs the night (make bench): the nightly chain of one business date through
Airflow, with OpenLineage on and off.

The chain is the manual runs of the nightly order, one after another: the feed, scoring,
reconciliation, the alerts (the demo's latest business date: every run rewrites the same rows,
objects and messages). Lineage is switched as ``LINEAGE=off make up`` does (Airflow's components
restart with ``[openlineage] disabled``), and the chain runs on, off, on, off: the median of each
mode and the difference as a share of the chain without lineage. The nightly switch is off
meanwhile, so the runs the chain's asset events start skip themselves. Also counted: the events each
night with lineage sends to ``openlineage.events``.

Needs the stack and a champion (make demo leaves both). Airflow is left with lineage on.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from typing import Any

from benchmarks import Result, airflow_api, latest_scored_date

NAME = "lineage"
CHAIN = ("ops_demo_feed", "settlement_risk_scoring", "trade_reconciliation", "ops_sql_alerts")
MODES = ("on", "off", "on", "off")
TARGET_SHARE = 0.05  # the bound: lineage costs under 5% of the night


def run(stack: dict[str, str]) -> list[Result]:
    from include.markets_ops.airflow.switch import SWITCH_VARIABLE

    api, day = airflow_api(stack), latest_scored_date(stack)
    walls: dict[str, list[float]] = {"on": [], "off": []}
    events: list[int] = []
    # The manual runs' asset events would start the downstream DAGs as well, beside the chain:
    # with the nightly switch off, those automatic runs skip themselves at once.
    switch = api.get_variable(SWITCH_VARIABLE)
    api.set_variable(SWITCH_VARIABLE, "false")
    try:
        for mode in MODES:
            _switch(mode)
            before = _lineage_offset(stack)
            walls[mode].append(_chain(api, day))
            if mode == "on":
                time.sleep(5)  # the last task's COMPLETE and its DAG run's are sent after the run ends
                events.append(_lineage_offset(stack) - before)
    finally:
        api.set_variable(SWITCH_VARIABLE, switch if switch is not None else "true")
        _switch("on")
    on, off = statistics.median(walls["on"]), statistics.median(walls["off"])
    note = f"business date {day}, {len(walls['on'])} nights each, runs one after another"
    return [
        Result(NAME, "night with lineage (median)", on, "s", note),
        Result(NAME, "night without lineage (median)", off, "s", note),
        Result(NAME, "lineage cost", (on - off) / off * 100, "%", f"target < {TARGET_SHARE:.0%}"),
        Result(NAME, "events per night", statistics.median(events), "events", "on openlineage.events"),
    ]


def _switch(mode: str) -> None:
    """Airflow's components restarted with lineage ``on`` or ``off`` (no restart if already)."""
    from devstack import airflow
    from devstack.config import Stack

    os.environ["LINEAGE"] = mode
    airflow.start(Stack.load())


def _chain(api: Any, day: dt.date) -> float:
    """The chain's wall time: from the feed's trigger to the alerts' run's end."""
    started = time.monotonic()
    for dag_id in CHAIN:
        api.wait_for_dag(dag_id)
        api.unpause(dag_id)
        run_id = api.trigger(dag_id, logical_date=None, conf={"business_date": day.isoformat()})
        run = api.wait_for_run(dag_id, run_id, timeout=900)
        if run["state"] != "success":
            raise SystemExit(f"{dag_id} {run_id}: {api.failed_tasks_summary(dag_id, run_id)}")
    return time.monotonic() - started


def _lineage_offset(stack: dict[str, str]) -> int:
    """The end offset of the lineage topic (one partition), as the reader sees it."""
    from confluent_kafka import Consumer, TopicPartition

    from devstack.stack_env import kafka_client_of
    from include.markets_ops.services.topics import LINEAGE_EVENTS

    consumer = Consumer({**kafka_client_of(stack, "reader"), "group.id": "markets-ops-readback.bench"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(LINEAGE_EVENTS.name, 0), timeout=10)[1])
    finally:
        consumer.close()
