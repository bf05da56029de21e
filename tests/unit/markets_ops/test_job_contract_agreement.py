"""The DAG side and the pod side of the job contract agree: arguments parse, names match."""

from __future__ import annotations

import datetime as dt

import pytest
from settlement_model import cli, contract, evaluation, registry, training_set
from settlement_model import scoring as pod_scoring

from include.markets_ops.scoring.manifest import part_key
from include.markets_ops.scoring.plan import ScoringPlan, staging_table
from include.markets_ops.scoring.swap import next_partition_table
from include.markets_ops.services import model_registry
from include.markets_ops.training import plan as training
from include.markets_ops.training import promotion

PLAN = ScoringPlan(
    business_date=dt.date(2026, 11, 20),
    model_name="settlement_fail_risk",
    model_version="12",
    shard_count=3,
    high_risk_threshold=0.25,
    medium_risk_threshold=0.1,
    scoring_run_id="scheduled__2026-11-20T22:00:00+00:00",
)


@pytest.mark.parametrize("dry_run", [False, True])
def test_every_shards_arguments_parse_as_the_score_job_expects(dry_run: bool) -> None:
    plan = ScoringPlan(**{**PLAN.__dict__, "dry_run": dry_run})
    parser = cli.build_parser()
    parsed = [parser.parse_args(["score", *arguments]) for arguments in plan.shard_arguments()]
    assert [p.shard_index for p in parsed] == [0, 1, 2]
    for p in parsed:
        assert (p.business_date, p.shard_count, p.model_version) == (dt.date(2026, 11, 20), 3, "12")
        assert (p.high_risk_threshold, p.medium_risk_threshold) == (0.25, 0.1)
        assert p.run_id == PLAN.scoring_run_id
        assert p.dry_run is dry_run


def test_staging_tables_and_objects_are_named_the_same_on_both_sides() -> None:
    day = dt.date(2026, 11, 20)
    for index in range(3):
        assert staging_table(day, index, 3) == pod_scoring.staging_table_name(day, index, 3)
        assert part_key(day, index, 3) == pod_scoring.part_key(day, index, 3)
    assert next_partition_table(day) == pod_scoring.next_partition_name(day)


def test_training_job_arguments_parse_as_the_jobs_expect() -> None:
    plan = training.TrainingPlan(
        training_date=dt.date(2026, 11, 20),
        rollback=False,
        against_version="4",
        ignore_features=("ssi_status", "counterparty_fail_rate_90d"),
        train_days=45,
        holdout_days=8,
        run_id="r1",
    )
    parser = cli.build_parser()
    build = parser.parse_args(["build-training-set", *plan.build_arguments()])
    assert (build.training_date, build.train_days, build.holdout_days, build.run_id) == (
        dt.date(2026, 11, 20),
        45,
        8,
        "r1",
    )
    train = parser.parse_args(["train", *plan.train_arguments()])
    assert train.ignore_features == ("ssi_status", "counterparty_fail_rate_90d")
    evaluate = parser.parse_args(["evaluate", *plan.evaluate_arguments()])
    assert evaluate.against_version == "4"
    assert training.manifest_key(plan.training_date) == training_set.manifest_key(plan.training_date)


def test_registry_names_agree() -> None:
    assert model_registry.MODEL_NAME == contract.DEFAULT_MODEL_NAME
    assert (model_registry.CHAMPION, model_registry.CHALLENGER, model_registry.PREVIOUS_CHAMPION) == (
        registry.CHAMPION,
        registry.CHALLENGER,
        registry.PREVIOUS_CHAMPION,
    )
    assert promotion.EVALUATION_TAG == evaluation.EVALUATION_TAG
    assert model_registry.NOT_FOUND_CODES == registry.NOT_FOUND_CODES
    assert training.TRAINING_SET_TAG == registry.TRAINING_SET_TAG
