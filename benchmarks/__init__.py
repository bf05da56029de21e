"""`make bench`: throughput and latency measurements against the real local stack.

Each module ``benchmarks/bench_<topic>.py`` defines ``run(stack: dict[str, str]) -> list[Result]``;
``python -m benchmarks [topic ...]`` runs them (all by default), prints a table and writes
var/bench/results.json and var/bench/results.md. Figures are measured in the same run as their
baselines (a plain COPY, a naive pipeline), so they compare like with like on this machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    benchmark: str
    metric: str
    value: float
    unit: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def airflow_api(stack: dict[str, str]) -> Any:
    """The stack's REST API as its admin."""
    from devstack.airflow_api import AirflowApi

    return AirflowApi(stack["AIRFLOW_API_URL"], stack["AIRFLOW_USERNAME"], stack["AIRFLOW_PASSWORD"])


def latest_scored_date(stack: dict[str, str]) -> dt.date:
    """The latest business date that has scores: its pending trades are the demo's volume."""
    import psycopg

    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        row = reader.execute("SELECT max(business_date) FROM ml.trade_scores").fetchone()
    if row is None or row[0] is None:
        raise SystemExit("no scored business date: run `make demo` first")
    return row[0]
