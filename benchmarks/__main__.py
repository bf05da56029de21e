"""Run the benchmarks: ``python -m benchmarks [topic ...]`` (make bench)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

from benchmarks import Result

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "var" / "bench"


def available() -> list[str]:
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )


def read_stack_env() -> dict[str, str]:
    import shlex

    path = REPO / "var" / "stack.env"
    if not path.exists():
        sys.exit("var/stack.env is missing: run `make up` first (make bench does).")
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, raw = line.partition("=")
            values[key] = shlex.split(raw)[0] if raw else ""
    return values


def render(results: list[Result]) -> str:
    lines = ["| benchmark | metric | value | unit | note |", "| --- | --- | ---: | --- | --- |"]
    lines += [f"| {r.benchmark} | {r.metric} | {r.value:,.3f} | {r.unit} | {r.note} |" for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("topics", nargs="*", help=f"default: all of {available()}")
    args = parser.parse_args(argv)
    topics = args.topics or available()
    stack = read_stack_env()
    # The benchmarks train, register and load models as the pipelines' MLflow writer, whose
    # credentials MLflow's client reads from the environment (as a model job's).
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ[name] = stack[name]
    results: list[Result] = []
    for topic in topics:
        started = time.monotonic()
        module = importlib.import_module(f"benchmarks.bench_{topic}")
        print(f"==> {topic}", flush=True)
        results += module.run(stack)
        print(f"    done in {time.monotonic() - started:.0f}s", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps([r.as_dict() for r in results], indent=2))
    table = render(results)
    (OUT / "results.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
