"""`make bench`: throughput and latency measurements against the real local stack.

Each module ``benchmarks/bench_<topic>.py`` defines ``run(stack: dict[str, str]) -> list[Result]``;
``python -m benchmarks [topic ...]`` runs them (all by default), prints a table and writes
var/bench/results.json and var/bench/results.md. Figures are measured in the same run as their
baselines (a plain COPY, a naive pipeline), so they compare like with like on this machine.
"""

from __future__ import annotations

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
