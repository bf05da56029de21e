"""The DAG side and the pod side of the job contract agree: arguments parse, names match.

The names of the jobs' objects and tables are the contract's (settlement_model.contract), which
the DAG side imports: declared once, and never again on the DAG side."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from settlement_model import cli, contract, evaluation, registry, score_job, training_set

from include.markets_ops.scoring import manifest, swap
from include.markets_ops.scoring import plan as scoring_plan
from include.markets_ops.scoring.plan import ScoringPlan
from include.markets_ops.services import model_registry
from include.markets_ops.training import plan as training_plan
from include.markets_ops.training import promotion

CONTRACT_NAMES = {
    "scores_prefix",
    "scores_run_prefix",
    "scoring_attempt",
    "part_key",
    "part_name",
    "staging_table",
    "staging_table_name",
    "next_partition_table",
    "next_partition_name",
    "manifest_key",
    "predictions_key",
    "prefix",
    "DEFAULT_TRAIN_DAYS",
    "DEFAULT_HOLDOUT_DAYS",
}

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
        assert p.attempt == plan.attempt  # the folder of the shard's part is the plan's
        assert p.dry_run is dry_run


def test_the_shards_tables_and_objects_are_the_contracts_and_fit_the_dags_steps() -> None:
    day = dt.date(2026, 11, 20)
    # The swap attaches the shards' next partition in place of the date's partition.
    assert contract.next_partition_name(day) == f"{swap.partition_table(day)}_next"
    # The manifest lists the shards' parts under the date's prefix, and is written there itself.
    for index in range(3):
        assert contract.part_key(day, "a1", index, 3).startswith(contract.scores_run_prefix(day, "a1"))
        assert contract.scores_run_prefix(day, "a1").startswith(contract.scores_prefix(day))
        # A dry run's work tables are the date's, which the swap drops (staging_tables_of_date.sql).
        assert contract.staging_table_name(day, index, 3).startswith(f"trade_scores_{day:%Y%m%d}_")
    assert manifest.manifest_key(day).startswith(contract.scores_prefix(day))


def test_neither_side_declares_the_contracts_names_again() -> None:
    for module in (scoring_plan, swap, training_plan, score_job, training_set):
        assert CONTRACT_NAMES & set(vars(module)) == set(), module.__name__
    # The DAG side's own manifest (the scores') is the only manifest_key it defines.
    assert manifest.manifest_key.__module__ == manifest.__name__


def test_training_job_arguments_parse_as_the_jobs_expect() -> None:
    plan = training_plan.TrainingPlan(
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
    assert evaluate.candidate_version is None
    # Gating the standing challenger again: the evaluate job pins it, nothing is trained.
    regate = dataclasses.replace(plan, against_version=None, challenger_version="6")
    assert regate.as_xcom()["mode"] == "challenger"
    evaluate = parser.parse_args(["evaluate", *regate.evaluate_arguments()])
    assert (evaluate.candidate_version, evaluate.against_version) == ("6", None)
    # The shards' shadow argument parses too.
    shadow_plan = scoring_plan.ScoringPlan(
        dt.date(2026, 11, 20), "m", "5", 1, 0.3, 0.1, "r", shadow_version="6"
    )
    (arguments,) = shadow_plan.shard_arguments()
    assert parser.parse_args(["score", *arguments]).shadow_version == "6"
    defaults = parser.parse_args(["build-training-set", "--training-date", "2026-11-20"])
    assert (defaults.train_days, defaults.holdout_days) == (
        contract.DEFAULT_TRAIN_DAYS,
        contract.DEFAULT_HOLDOUT_DAYS,
    )


def test_registry_names_agree() -> None:
    assert model_registry.MODEL_NAME == contract.DEFAULT_MODEL_NAME
    assert (model_registry.CHAMPION, model_registry.CHALLENGER, model_registry.PREVIOUS_CHAMPION) == (
        registry.CHAMPION,
        registry.CHALLENGER,
        registry.PREVIOUS_CHAMPION,
    )
    assert promotion.EVALUATION_TAG == evaluation.EVALUATION_TAG
    assert model_registry.NOT_FOUND_CODES == registry.NOT_FOUND_CODES
    assert training_plan.TRAINING_SET_TAG == registry.TRAINING_SET_TAG
