"""What the night shift relies on in the UI: deadlines on the nightly DAGs (configured by
Variables that exist), a dry-run param on their trigger forms, extra links on the producing tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.markets_ops import links
from include.markets_ops.dag_defaults import DEFAULT_DEADLINE_SECONDS, deadline_variable

ROOT = Path(__file__).resolve().parents[2]
NIGHTLY = ("ops_demo_feed", "trade_reconciliation", "settlement_risk_scoring", "ops_sql_alerts")
LINKS = {
    ("settlement_risk_training", "train_model"): ["MLflow training run"],
    ("settlement_risk_training", "promotion_gate"): ["Kafka topic", "MLflow model version"],
    ("settlement_risk_scoring", "check_champion"): ["MLflow model version"],
    ("settlement_risk_scoring", "write_manifest"): ["Kafka topic", "S3 output"],
    ("trade_reconciliation", "publish_report"): ["S3 output"],
    ("trade_reconciliation", "publish_summary"): ["Kafka topic"],
    ("ops_sql_alerts", "publish_alerts"): ["Kafka topic", "S3 output"],
}


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=ROOT / "dags")
    assert dagbag.import_errors == {}
    return dagbag.dags


@pytest.fixture(scope="module")
def declared_variables() -> dict[str, str]:
    settings = yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())
    return {v["variable_name"]: v["variable_value"] for v in settings["airflow"]["variables"]}


@pytest.mark.parametrize("dag_id", NIGHTLY)
def test_nightly_dags_have_a_deadline_from_a_declared_variable(dag_id: str, dags, declared_variables) -> None:
    import datetime as dt

    from include.markets_ops.deadlines import QueuedAtPlusVariable

    (alert,) = dags[dag_id].deadline
    assert alert.reference == QueuedAtPlusVariable(deadline_variable(dag_id), DEFAULT_DEADLINE_SECONDS)
    assert alert.interval == dt.timedelta(0)
    assert int(declared_variables[deadline_variable(dag_id)]) > 0
    assert alert.callback.path == "include.markets_ops.callbacks.on_deadline_missed"


@pytest.mark.parametrize("dag_id", NIGHTLY)
def test_nightly_trigger_forms_offer_a_dry_run(dag_id: str, dags) -> None:
    param = dags[dag_id].params.get_param("dry_run")
    assert param.value is False
    assert param.schema["type"] == "boolean"


@pytest.mark.parametrize(
    ("dag_task", "names"), LINKS.items(), ids=lambda v: "/".join(v) if isinstance(v, tuple) else ""
)
def test_producing_tasks_carry_their_links(dag_task: tuple[str, str], names: list[str], dags) -> None:
    dag_id, task_id = dag_task
    task = dags[dag_id].get_task(task_id)
    assert sorted(link.name for link in task.operator_extra_links) == sorted(names)
    assert all(isinstance(link, links.ArtifactLink) for link in task.operator_extra_links)
