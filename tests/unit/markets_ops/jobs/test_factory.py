"""The job factory: the configured runtime's operator, and the cost of parsing with the local one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from include.markets_ops.jobs import factory, spec

REPO = Path(__file__).resolve().parents[4]


def test_the_local_runtime_gives_a_local_job_operator_with_the_jobs_limits() -> None:
    from include.markets_ops.jobs.local_runtime import LocalJobOperator

    operator = factory.model_job("train_model", "train", ["--training-date", "2026-11-20"], environ={})
    assert isinstance(operator, LocalJobOperator)
    assert operator.command()[1:] == ["-m", "settlement_model", "train", "--training-date", "2026-11-20"]
    assert operator.pool == spec.POOL
    assert operator.execution_timeout == spec.JOBS["train"].execution_timeout


def test_parsing_a_dag_with_the_local_runtime_does_not_import_the_kubernetes_provider() -> None:
    code = (
        "import sys; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r}); assert not bag.import_errors, bag.import_errors; "
        "print(sorted(m for m in ('kubernetes', 'kubernetes_asyncio', "
        "'airflow.providers.cncf.kubernetes.operators.pod') if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "JOB_RUNTIME": "local"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert completed.stdout.strip().splitlines()[-1] == "[]"
