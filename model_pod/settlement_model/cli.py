"""``settlement-model <job> [options]``: the model pods' single entry point.

Jobs: build-training-set, train, evaluate, score (and version). The arguments say what to
do (dates, shard, model); the environment says where the services are (contract.py). The
full contract, with exit codes, is docs/pod-contract.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from settlement_model import contract, lineage
from settlement_model.lineage_names import DatasetName, registered_model, s3_object, table, topic

log = logging.getLogger("settlement_model")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from error


def _probability(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value}")
    return number


def _features(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _add_model_choice(parser: argparse.ArgumentParser, what: str, alias_flag: str, version_flag: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(alias_flag, default=None, help=f"registry alias of {what} (default: champion)")
    group.add_argument(version_flag, default=None, help=f"explicit version of {what}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="settlement-model", description=__doc__)
    sub = parser.add_subparsers(dest="job", required=True)
    sub.add_parser("version", help="print the package version")

    build = sub.add_parser("build-training-set", help="point-in-time training snapshot to S3 + MLflow run")
    build.add_argument("--training-date", type=_date, required=True)
    build.add_argument(
        "--train-days",
        type=int,
        default=contract.DEFAULT_TRAIN_DAYS,
        help="calendar days of training as-of dates",
    )
    build.add_argument(
        "--holdout-days",
        type=int,
        default=contract.DEFAULT_HOLDOUT_DAYS,
        help="calendar days of evaluation as-of dates",
    )
    build.add_argument(
        "--label-lag-days",
        type=int,
        default=7,
        help="days between a window's last as-of date and the date its labels are read",
    )
    build.add_argument(
        "--max-settled-rows",
        type=int,
        default=contract.DEFAULT_MAX_SETTLED_ROWS,
        help="at most this many settled rows of the train window, weighted (every failed row is kept)",
    )
    build.add_argument("--run-id", default="manual", help="the orchestrator's run id (audit)")

    train = sub.add_parser("train", help="fit, log and register a new model version")
    train.add_argument("--training-date", type=_date, required=True)
    train.add_argument("--run-id", default="manual")
    # Hyperparameters: unset ones keep train_job.Hyperparameters' defaults.
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--max-iter", type=int)
    train.add_argument("--max-leaf-nodes", type=int)
    train.add_argument("--min-samples-leaf", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument(
        "--ignore-features",
        type=_features,
        default=(),
        help="comma-separated features the model leaves out (ablation)",
    )

    evaluate = sub.add_parser("evaluate", help="challenger vs champion on the snapshot's evaluation window")
    evaluate.add_argument("--training-date", type=_date, required=True)
    _add_model_choice(evaluate, "the model to compare with", "--against-alias", "--against-version")
    evaluate.add_argument("--top-k-fraction", type=_probability, default=0.05)
    evaluate.add_argument(
        "--candidate-version",
        default=None,
        help="evaluate this version (the standing challenger, gated again) instead of the one "
        "trained on the snapshot",
    )

    score = sub.add_parser("score", help="score one shard of a business date's pending trades")
    score.add_argument("--business-date", type=_date, required=True)
    score.add_argument("--shard-index", type=int, default=0)
    score.add_argument("--shard-count", type=int, default=1)
    _add_model_choice(score, "the scoring model", "--model-alias", "--model-version")
    score.add_argument("--run-id", required=True, help="recorded on every row as scoring_run_id")
    score.add_argument(
        "--attempt",
        default="",
        help="the part's folder scores/business_date=D/run=ATTEMPT/ (default: the run id's)",
    )
    score.add_argument("--high-risk-threshold", type=_probability, required=True)
    score.add_argument("--medium-risk-threshold", type=_probability, required=True)
    score.add_argument("--topic", default="settlement-risk.high")
    score.add_argument("--dry-run", action="store_true", help="staging table only: no S3 object, no messages")
    score.add_argument(
        "--shadow-version",
        help="also score with this version (the challenger) into ml.shadow_scores only: never the "
        "Parquet part or Kafka",
    )
    return parser


def _validated(factory: Callable[..., Any], **kwargs: Any) -> Any:
    """Build a job's request; a value the job cannot accept is a contract (usage) error."""
    try:
        return factory(**kwargs)
    except ValueError as error:
        raise contract.ContractError(str(error)) from error


# --- Each job and what it reads and writes (its OpenLineage datasets, lineage.py) --------------
# The warehouse tables the features are read from (features.py, sql/): scoring and the training
# set read the same ones. A test compares them with the tables the SQL files name.
FEATURE_TABLES = (
    "ops.counterparties",
    "ops.counterparty_settlement_days",
    "ops.instruments",
    "ops.settlement_outcomes",
    "ops.trades",
)


def _feature_tables() -> tuple[DatasetName, ...]:
    return tuple(table(name) for name in FEATURE_TABLES)


def _s3(env: contract.JobEnvironment, key: str) -> tuple[DatasetName, ...]:
    """The S3 dataset of ``key`` (its prefix before the partition folder), when a bucket is set."""
    return (s3_object(env.s3_bucket, key),) if env.s3_bucket else ()


def _training_set(env: contract.JobEnvironment, args: argparse.Namespace) -> tuple[DatasetName, ...]:
    return _s3(env, contract.training_set_manifest_key(args.training_date))


def _run_build(args: argparse.Namespace) -> Any:
    from settlement_model import training_set

    env = contract.JobEnvironment.from_environ(("database", "s3", "mlflow"))
    _validated(
        training_set.Windows.for_training_date,
        training_date=args.training_date,
        train_days=args.train_days,
        holdout_days=args.holdout_days,
        label_lag_days=args.label_lag_days,
    )
    return training_set.build(
        env,
        args.training_date,
        train_days=args.train_days,
        holdout_days=args.holdout_days,
        label_lag_days=args.label_lag_days,
        airflow_run_id=args.run_id,
        max_settled_rows=args.max_settled_rows,
    )


def _build_datasets(args: argparse.Namespace, env: contract.JobEnvironment) -> lineage.Datasets:
    # Also a new MLflow run of the training (an experiment's run, not a dataset).
    return lineage.Datasets(inputs=_feature_tables(), outputs=_training_set(env, args))


def _run_train(args: argparse.Namespace) -> Any:
    from settlement_model import train_job

    env = contract.JobEnvironment.from_environ(("s3", "mlflow"))
    given = {
        name: getattr(args, name)
        for name in ("learning_rate", "max_iter", "max_leaf_nodes", "min_samples_leaf", "seed")
        if getattr(args, name) is not None
    }
    params = _validated(train_job.Hyperparameters, ignore_features=args.ignore_features, **given)
    return train_job.train(env, args.training_date, params, args.run_id)


def _train_datasets(args: argparse.Namespace, env: contract.JobEnvironment) -> lineage.Datasets:
    return lineage.Datasets(inputs=_training_set(env, args), outputs=(registered_model(env.model_name),))


def _run_evaluate(args: argparse.Namespace) -> Any:
    from settlement_model import evaluation, registry

    env = contract.JobEnvironment.from_environ(("s3", "mlflow"))
    alias = None if args.against_version else (args.against_alias or registry.CHAMPION)
    return evaluation.evaluate(
        env,
        args.training_date,
        alias,
        args.against_version,
        args.top_k_fraction,
        candidate_version=args.candidate_version,
    )


def _evaluate_datasets(args: argparse.Namespace, env: contract.JobEnvironment) -> lineage.Datasets:
    # Its output is the evaluation, tagged on the challenger's version for the promotion gate.
    # The predictions it also writes sit in the training set's folder, the dataset it reads:
    # declared, they would make the graph a loop.
    model = registered_model(env.model_name)
    return lineage.Datasets(inputs=(*_training_set(env, args), model), outputs=(model,))


def _run_score(args: argparse.Namespace) -> Any:
    from settlement_model import registry, score_job

    services = ("database", "mlflow") if args.dry_run else ("database", "s3", "mlflow", "kafka")
    env = contract.JobEnvironment.from_environ(services)
    request = _validated(
        score_job.ScoreRequest,
        business_date=args.business_date,
        shard_index=args.shard_index,
        shard_count=args.shard_count,
        scoring_run_id=args.run_id,
        high_risk_threshold=args.high_risk_threshold,
        medium_risk_threshold=args.medium_risk_threshold,
        model_alias=None if args.model_version else (args.model_alias or registry.CHAMPION),
        model_version=args.model_version,
        dry_run=args.dry_run,
        topic=args.topic,
        attempt=args.attempt,
        shadow_version=args.shadow_version,
    )
    return score_job.score_shard(env, request).__dict__


def _score_datasets(args: argparse.Namespace, env: contract.JobEnvironment) -> lineage.Datasets:
    from settlement_model.warehouse import SCORES_SCHEMA

    inputs = (*_feature_tables(), registered_model(env.model_name))
    if args.dry_run:  # only a work table kept for inspection: no dataset anyone reads
        return lineage.Datasets(inputs=inputs)
    # The rows go to the date's next partition, which the DAG then attaches to ml.trade_scores
    # (and ml.shadow_scores): the tables are the datasets, as the Airflow tasks name them.
    attempt = args.attempt or contract.scoring_attempt(args.run_id)
    part = contract.part_key(args.business_date, attempt, args.shard_index, args.shard_count)
    outputs = (table(f"{SCORES_SCHEMA}.{contract.TRADE_SCORES}"), *_s3(env, part), topic(args.topic))
    if args.shadow_version:
        outputs += (table(f"{SCORES_SCHEMA}.{contract.SHADOW_SCORES}"),)
    return lineage.Datasets(inputs=inputs, outputs=outputs)


def _run_version(_: argparse.Namespace) -> Any:
    from importlib.metadata import version

    return version("settlement-model")


JOBS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "version": _run_version,
    "build-training-set": _run_build,
    "train": _run_train,
    "evaluate": _run_evaluate,
    "score": _run_score,
}
# What each job reads and writes, from its arguments and the contract's environment (`version`
# is not a job of the pipelines: no lineage).
DATASETS: dict[str, Callable[[argparse.Namespace, contract.JobEnvironment], lineage.Datasets]] = {
    "build-training-set": _build_datasets,
    "train": _train_datasets,
    "evaluate": _evaluate_datasets,
    "score": _score_datasets,
}


def _lineage_of(args: argparse.Namespace) -> AbstractContextManager[None]:
    """The job's OpenLineage run around it: START, then COMPLETE or FAIL (lineage.py)."""
    datasets_of = DATASETS.get(args.job)
    if datasets_of is None:
        return contextlib.nullcontext()
    # Only the bucket and the model name are read: no service is required for naming datasets.
    return lineage.job_run(args.job, lambda: datasets_of(args, contract.JobEnvironment.from_environ(())))


def _stop_on_sigterm(signum: int, _frame: Any) -> None:
    """Kubernetes stops a pod (deleted, timed out, its node drained) with SIGTERM, then SIGKILL
    after the grace period. As a pod's PID 1 the job would ignore SIGTERM (the kernel gives PID 1
    no default action), so every stop would wait out the whole grace period. Stop at once, and
    never with exit 0 (a stopped job must not look done). Stopping is safe wherever it lands:
    each job writes its result last (the scores' transaction commits last and is rolled back
    with its connection; the training set's manifest comes after its files), and a rerun
    replaces what a stopped run began (docs/pod-contract.md)."""
    log.error("stopped by signal %d before the job finished (exit %d)", signum, contract.EXIT_STOPPED)
    logging.shutdown()
    os._exit(contract.EXIT_STOPPED)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # The MLflow and HTTP clients are chatty at INFO: their warnings are enough.
    for noisy in ("urllib3", "botocore", "mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        with _lineage_of(args):
            result = JOBS[args.job](args)
    except contract.ContractError as error:
        log.error("contract error: %s", error)
        return contract.EXIT_USAGE
    except contract.RefusedError as error:
        log.error("refused: %s", error)
        return contract.EXIT_REFUSED
    # One machine-readable line at the end, for people and log searches.
    print(f"RESULT {json.dumps(result, sort_keys=True, default=str)}", flush=True)
    return contract.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
