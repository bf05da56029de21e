"""A broken rule file in a real DAG run (dag.test(), in this process, on the stack's warehouse,
S3 and Kafka): its mapped task fails naming the file and the error, the other rules run and are
published, and the run ends failed with every problem listed.

The rules folder is swapped for a temporary one; dag.test() runs the tasks in this process, so
the swap reaches them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.support.warehouse_scenarios import clear_dates, connect

DAY = dt.date(2033, 3, 15)
GOOD = """/*
id: good_rule
severity: low
owner: pytest
description: one row for the business date
*/
SELECT 'day-' || %(business_date)s::text AS entity_key, jsonb_build_object('ok', true) AS details
"""


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """The test process's own metadata database (SQLite, see tests/conftest.py) for dag.test()."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def broken_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from include.markets_ops.alerting import rules

    (tmp_path / "good_rule.sql").write_text(GOOD)
    (tmp_path / "bad_header.sql").write_text("SELECT 1 AS entity_key, '{}'::jsonb AS details")
    (tmp_path / "failing_query.sql").write_text(
        GOOD.replace("good_rule", "failing_query").replace("%(business_date)s::text", "(1 / 0)::text")
    )
    monkeypatch.setattr(rules, "RULES_DIR", tmp_path)
    return tmp_path


def test_a_broken_rule_fails_its_task_and_the_run_but_not_the_other_rules(
    stack: dict[str, str], airflow_db: None, broken_rules: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    with connect(stack["POSTGRES_URL"]) as conn:
        clear_dates(conn, DAY, DAY)
    dag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "ops_sql_alerts.py")).get_dag(
        "ops_sql_alerts"
    )
    run = dag.test(run_conf={"business_date": DAY.isoformat(), "rule_parameters": {"no_such_rule": {"x": 1}}})
    assert run.state == "failed"
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    # Mapped in file-name order: bad_header, failing_query, good_rule.
    assert states == {
        ("nightly_switch", -1): "success",  # a manual run always proceeds
        ("list_rules", -1): "success",
        ("run_rule", 0): "failed",
        ("run_rule", 1): "failed",
        ("run_rule", 2): "success",
        ("publish_alerts", -1): "success",
        ("check_rules", -1): "failed",
    }
    with connect(stack["POSTGRES_URL"]) as conn:
        runs: dict[str, Any] = {
            rule_id: (status, error)
            for rule_id, status, error in conn.execute(
                "SELECT rule_id, status, error FROM reporting.alert_rule_runs WHERE business_date = %s", [DAY]
            )
        }
        alerts = conn.execute(
            "SELECT rule_id, entity_key FROM reporting.alerts WHERE business_date = %s", [DAY]
        ).fetchall()
        clear_dates(conn, DAY, DAY)
    assert runs["good_rule"] == ("succeeded", None)
    assert runs["bad_header"][0] == "failed"
    assert runs["bad_header"][1].startswith("bad_header.sql: malformed header")
    assert runs["failing_query"][0] == "failed"
    assert "failing_query.sql" in runs["failing_query"][1]
    assert "division by zero" in runs["failing_query"][1]
    assert alerts == [("good_rule", f"day-{DAY.isoformat()}")]
    # The run's last task names every problem (its log is this process's output under dag.test()).
    output = capfd.readouterr()
    log = output.out + output.err
    assert f"alert rules for {DAY}: 3 problem(s) among 3 rule files" in log
    assert "bad_header.sql: malformed header: the file must start with a /* ... */ YAML header" in log
    assert "failing_query.sql: DivisionByZero: division by zero" in log
    assert "rule_parameters: no rule named 'no_such_rule'" in log
