"""The feed DAG's shape: task order, asset outlets, typed params; its business-date rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "ops_demo_feed.py"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=DAG_FILE)
    assert dagbag.import_errors == {}
    return dagbag.dags["ops_demo_feed"]


def test_tasks_run_in_feed_order(dag) -> None:
    downstream = {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks}
    assert downstream == {
        "nightly_switch": ["simulate_upstream_systems"],
        "simulate_upstream_systems": ["load_reference_data"],
        "load_reference_data": ["load_trades", "report_counts"],
        "load_trades": ["load_custodian_confirmations", "load_settlement_outcomes", "report_counts"],
        "load_custodian_confirmations": ["report_counts"],
        "load_settlement_outcomes": ["report_counts"],
        "report_counts": [],
    }


def test_each_load_emits_its_asset(dag) -> None:
    from include.markets_ops.airflow import assets

    outlets = {task.task_id: list(task.outlets) for task in dag.tasks if task.outlets}
    assert outlets == {
        "load_trades": [assets.TRADES],
        "load_custodian_confirmations": [assets.CUSTODIAN_CONFIRMATIONS],
        "load_settlement_outcomes": [assets.SETTLEMENT_OUTCOMES],
    }


def test_the_business_date_param_is_typed_and_validated(dag) -> None:
    import copy

    from airflow.sdk.exceptions import ParamValidationError

    def resolve(name: str, value: object) -> object:
        return copy.deepcopy(dag.params.get_param(name)).resolve(value)

    assert dag.params.get_param("business_date").description
    assert resolve("business_date", "2026-10-30") == "2026-10-30"
    assert resolve("business_date", None) is None  # then the asset event or data interval decides
    for bad in ("30/10/2026", "2026-13-01", 20261030):
        with pytest.raises(ParamValidationError):
            resolve("business_date", bad)
    with pytest.raises(ParamValidationError):
        resolve("bad_row_rate", 0.9)
    with pytest.raises(ParamValidationError):
        resolve("max_bad_row_share", -0.1)


def test_the_feed_refuses_a_day_that_is_not_a_business_day() -> None:
    from include.markets_ops.errors import BadInputError
    from include.markets_ops.feed.tasks import feed_business_date

    assert feed_business_date({"params": {"business_date": "2026-10-30"}}) == dt.date(2026, 10, 30)
    with pytest.raises(BadInputError, match="not a XNYS business day"):
        feed_business_date({"params": {"business_date": "2026-11-26"}})  # Thanksgiving
    with pytest.raises(BadInputError, match="cannot tell which business date"):
        feed_business_date({"params": {}})


def test_it_runs_after_the_close_of_every_business_day(dag) -> None:
    from business_day_timetable import BusinessDayTimetable

    assert isinstance(dag.timetable, BusinessDayTimetable)
    assert dag.catchup is False
    assert dag.max_active_runs == 1
