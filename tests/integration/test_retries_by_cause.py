"""Retries by cause in real task runs (dag.test(), Airflow's own task runner in this process):
each cause's number of tries, with the project's default_args and its one retry policy
(tests/integration/dags/pytest_retries_by_cause.py: one task per cause).

The transient failure is a real one of the stack's PostgreSQL: a statement cancelled by its
statement_timeout (psycopg.errors.QueryCanceled, an OperationalError)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).parent / "dags" / "pytest_retries_by_cause.py"


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """The test process's own metadata database (SQLite, see tests/conftest.py) for dag.test()."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def test_dags_bundle() -> Iterator[None]:
    """dag.test() runs only DAGs of a configured bundle: the test DAGs' folder is one meanwhile."""
    from airflow.configuration import conf

    bundle = {
        "name": "pytest-dags",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(DAG_FILE.parent), "refresh_interval": 0},
    }
    section, key = "dag_processor", "dag_bundle_config_list"
    before = conf.get(section, key)
    conf.set(section, key, json.dumps([bundle]))
    try:
        yield
    finally:
        conf.set(section, key, before)


def test_each_cause_gets_its_number_of_tries(
    stack: dict[str, str], airflow_db: None, test_dags_bundle: None
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAG_FILE)).get_dag("pytest_retries_by_cause")
    run = dag.test(run_conf={"database_url": stack["POSTGRES_URL"]})

    tries = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert tries == {
        "refused_date": ("failed", 1),  # bad input: at once
        "warehouse_times_out": ("failed", 3),  # transient: every retry, with backoff
        "a_bug": ("failed", 3),  # unknown: retried as before the policy
    }
    # Each retried try's reason, as the UI shows it: the transient one named, the unknown not.
    assert _retry_reasons(run.run_id, "warehouse_times_out") == [
        "transient infrastructure: QueryCanceled, retried with backoff after try 1",
        "transient infrastructure: QueryCanceled, retried with backoff after try 2",
    ]
    assert _retry_reasons(run.run_id, "a_bug") == [None, None]


def _retry_reasons(run_id: str, task_id: str) -> list[str | None]:
    """The retry reason of each earlier try (Airflow keeps tries before the last as history)."""
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstanceHistory.try_number, TaskInstanceHistory.retry_reason)
            .where(TaskInstanceHistory.run_id == run_id, TaskInstanceHistory.task_id == task_id)
            .order_by(TaskInstanceHistory.try_number)
        ).all()
    return [reason for _, reason in rows]
