"""The training DAG's three paths (train, gate the standing challenger again, roll back) are
chosen by branches; a task that joins two of them runs on a trigger rule that also accepts a
skipped upstream. What must hold: on a rollback (the snapshot skipped) no model job runs, so
every upstream of such a join is itself skipped with the snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def training():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=ROOT / "dags")
    assert dagbag.import_errors == {}
    return dagbag.dags["settlement_risk_training"]


def test_the_evaluation_joins_training_and_the_challengers_path_and_is_skipped_on_a_rollback(
    training,
) -> None:
    evaluate = training.get_task("evaluate_challenger")
    assert evaluate.trigger_rule == "none_failed_min_one_success"
    assert evaluate.upstream_task_ids == {"choose_candidate", "train_model", "evaluation_arguments"}
    after_the_snapshot = training.get_task("build_training_set").get_flat_relative_ids(upstream=False)
    # Each upstream runs only after the snapshot: a rollback skips them all, and the evaluation.
    assert evaluate.upstream_task_ids <= after_the_snapshot


def test_the_branches_lead_where_their_modes_say(training) -> None:
    from include.markets_ops.training import tasks

    assert tasks.choose_candidate("train") in training.get_task("choose_candidate").downstream_task_ids
    assert tasks.choose_candidate("challenger") in training.get_task("choose_candidate").downstream_task_ids
    assert tasks.choose_path("rollback") in training.get_task("choose_path").downstream_task_ids
    assert tasks.choose_path("train") in training.get_task("choose_path").downstream_task_ids
