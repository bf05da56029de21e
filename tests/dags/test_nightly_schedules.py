"""How the nightly DAGs are scheduled: the feed on the business-day timetable, the DAGs after
it on the feed's assets (with a later timetable run as a safety net, which is also what their
backfills use), training weekly; catchup off, one active run each, and the schedule switch
ahead of every other task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
NIGHTLY_DAGS = (
    "ops_demo_feed",
    "settlement_risk_scoring",
    "trade_reconciliation",
    "ops_sql_alerts",
    "settlement_risk_training",
)


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=DAGS_FOLDER)
    assert dagbag.import_errors == {}
    return dagbag.dags


def _condition(condition: Any) -> Any:
    """An asset condition as plain values: an asset's name, ("all" | "any", its parts)."""
    from airflow.sdk import AssetAll, AssetAny

    if isinstance(condition, AssetAll | AssetAny):
        kind = "all" if isinstance(condition, AssetAll) else "any"
        return (kind, frozenset(_condition(part) for part in condition.objects))
    return condition.name


@pytest.mark.parametrize(
    ("dag_id", "upstream_assets", "run_time"),
    [
        ("settlement_risk_scoring", ("all", {"ops.trades", "ops.settlement_outcomes"}), "20:30"),
        # Or once every custodian's own statement is in (custodian_statements).
        (
            "trade_reconciliation",
            (
                "any",
                {
                    (
                        "all",
                        frozenset({"ops.trades", "ops.settlement_outcomes", "ops.custodian_confirmations"}),
                    ),
                    "ops.statement_deliveries",
                },
            ),
            "20:30",
        ),
        ("ops_sql_alerts", ("all", {"ml.trade_scores", "reporting.recon_breaks"}), "21:30"),
    ],
)
def test_downstream_dags_run_on_their_inputs_with_a_business_day_safety_net(
    dags, dag_id: str, upstream_assets: tuple[str, set[Any]], run_time: str
) -> None:
    from airflow.sdk import AssetOrTimeSchedule
    from business_day_timetable import BusinessDayTimetable

    timetable = dags[dag_id].timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert isinstance(timetable.timetable, BusinessDayTimetable)
    assert timetable.timetable.run_time.strftime("%H:%M") == run_time
    # All of the inputs, not any of them: a run needs the whole night's data.
    kind, parts = upstream_assets
    assert _condition(timetable.asset_condition) == (kind, frozenset(parts))


def test_training_runs_weekly_after_the_nightly_dags(dags) -> None:
    from business_day_timetable import WeeklyBusinessDayTimetable

    timetable = dags["settlement_risk_training"].timetable
    assert isinstance(timetable, WeeklyBusinessDayTimetable)
    assert timetable.run_time.strftime("%H:%M") == "22:00"


@pytest.mark.parametrize("dag_id", NIGHTLY_DAGS)
def test_catchup_off_one_active_run_and_the_switch_first(dags, dag_id: str) -> None:
    dag = dags[dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    switch = dag.get_task("nightly_switch")
    assert switch.upstream_task_ids == set()
    assert switch.ignore_downstream_trigger_rules is True
    assert [task.task_id for task in dag.roots] == ["nightly_switch"]
