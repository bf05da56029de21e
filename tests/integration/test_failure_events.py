"""A task failure becomes a structured event on ops.airflow.events, read back by a real consumer."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

from include.markets_ops.airflow import callbacks, connections
from include.markets_ops.services.kafka import find_messages
from include.markets_ops.services.topics import AIRFLOW_EVENTS


def test_failure_callback_event_reaches_a_kafka_consumer(stack: dict[str, str]) -> None:
    run_id = f"manual__pytest-{uuid.uuid4().hex[:8]}"
    ti = SimpleNamespace(
        dag_id="ops_demo_feed",
        task_id="load_trades",
        run_id=run_id,
        map_index=-1,
        try_number=1,
        max_tries=0,
        log_url="http://127.0.0.1/log",
    )
    context = {
        "ti": ti,
        "params": {"business_date": "2026-10-30"},
        "exception": ValueError("unknown currency XXX"),
    }

    callbacks.on_task_failure(context)

    key = f"ops_demo_feed/{run_id}/load_trades/-1/1"
    event = find_messages(connections.kafka_reader_config(), AIRFLOW_EVENTS.name, {key})[key]
    assert event["business_date"] == "2026-10-30"
    assert event["error"] == "unknown currency XXX"
    assert event["dag_id"] == "ops_demo_feed"
    assert dt.datetime.fromisoformat(event["timestamp"]).tzinfo is not None
