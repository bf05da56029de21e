"""What the night shift relies on in the UI: deadlines on the nightly DAGs (configured by
Variables that exist), a dry-run param on their trigger forms, extra links on the producing tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.markets_ops.airflow import links
from include.markets_ops.airflow.defaults import DEFAULT_DEADLINE_SECONDS, deadline_variable

ROOT = Path(__file__).resolve().parents[2]
NIGHTLY = ("ops_demo_feed", "trade_reconciliation", "settlement_risk_scoring", "ops_sql_alerts")
END_OF_THE_NIGHT = ("trade_reconciliation", "settlement_risk_scoring", "ops_sql_alerts")
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

    from include.markets_ops.airflow.deadlines import QueuedAtPlusVariable

    alert = dags[dag_id].deadline[0]
    assert alert.reference == QueuedAtPlusVariable(deadline_variable(dag_id), DEFAULT_DEADLINE_SECONDS)
    assert alert.interval == dt.timedelta(0)
    assert int(declared_variables[deadline_variable(dag_id)]) > 0
    assert alert.callback.path == "include.markets_ops.airflow.callbacks.on_deadline_missed"


@pytest.mark.parametrize("dag_id", NIGHTLY)
def test_only_the_end_of_the_nightly_chain_has_the_wall_clock_cutoff(
    dag_id: str, dags, declared_variables
) -> None:
    from include.markets_ops import calendars
    from include.markets_ops.airflow.deadlines import DEFAULT_CUTOFF, NightlyCutoff, cutoff_offset
    from include.markets_ops.airflow.defaults import CUTOFF_VARIABLE

    cutoffs = [alert for alert in dags[dag_id].deadline if isinstance(alert.reference, NightlyCutoff)]
    if dag_id not in END_OF_THE_NIGHT:
        assert cutoffs == []
        return
    (alert,) = cutoffs
    assert alert.reference == NightlyCutoff(
        CUTOFF_VARIABLE, DEFAULT_CUTOFF, calendars.OPERATIONS_TIMEZONE, calendars.OPERATIONS_CALENDAR
    )
    # the declared value is a valid cutoff (an invalid one would silently fall back to the default)
    declared = declared_variables[CUTOFF_VARIABLE]
    assert cutoff_offset(declared, "00:00") == cutoff_offset(declared, "47:00")
    assert alert.callback.path == "include.markets_ops.airflow.callbacks.on_deadline_missed"


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


def test_every_param_of_every_dag_has_a_description_and_a_json_schema_type(dags) -> None:
    json_schema_types = {"string", "integer", "number", "boolean", "array", "object", "null"}
    incomplete = []
    for dag_id, dag in sorted(dags.items()):
        for name in dag.params:
            param = dag.params.get_param(name)
            declared = param.schema.get("type")
            types = set(declared) if isinstance(declared, list) else {declared}
            if not param.description or not types or not types <= json_schema_types:
                incomplete.append(f"{dag_id}.{name}")
    assert len(dags) >= 7, sorted(dags)
    assert incomplete == [], f"params without a description or a JSON-schema type: {incomplete}"
