"""Scoring a fixture business date on the real stack as the DAG does (prepare the next
partition, the shards' jobs, the swap, the manifest), and reading back what its readers see:
shared by the scoring pipeline's tests and the fault-injection suite."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import psycopg
from psycopg import sql
from settlement_model import contract, score_job

from include.markets_ops.scoring.manifest import write_manifest
from include.markets_ops.scoring.plan import ScoringPlan, new_attempt
from include.markets_ops.scoring.swap import partition_table, prepare_partition, swap_into_trade_scores

BUSINESS_DATE = dt.date(2023, 4, 10)  # a fixture date with pending trades and history behind it
SHARDS = 2
HIGH, MEDIUM = 0.25, 0.1
ROW_COLUMNS = "business_date, trade_id, model_name, model_version, score, risk_band"


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every test here uses: the stack, the job environment, S3, the champion, a topic."""

    stack: dict[str, str]
    env: Any
    s3: Any
    champion: str
    model_name: str
    topic: str

    @property
    def bucket(self) -> str:
        return self.stack["S3_BUCKET"]

    @property
    def database_url(self) -> str:
        return self.stack["POSTGRES_URL"]


def staging(table: str) -> sql.Identifier:
    """A shard's work table, as an identifier (never formatted into the SQL text)."""
    return sql.Identifier("staging", table)


def plan(model_name: str, version: str, run_id: str) -> ScoringPlan:
    """A run's plan as plan_shards makes it: with an attempt of its own."""
    return ScoringPlan(
        BUSINESS_DATE, model_name, version, SHARDS, HIGH, MEDIUM, run_id, attempt=new_attempt(run_id)
    )


def score_shards(
    env: Any, scoring_plan: ScoringPlan, topic: str, only: int | None = None
) -> list[score_job.ShardResult]:
    """Each shard's job (or shard ``only``), with the arguments the DAG gives it (parsed by the
    job's own CLI)."""
    from settlement_model.cli import build_parser

    results = []
    shard_arguments = scoring_plan.shard_arguments()
    for arguments in shard_arguments if only is None else [shard_arguments[only]]:
        args = build_parser().parse_args(["score", *arguments, "--topic", topic])
        request = score_job.ScoreRequest(
            business_date=args.business_date,
            shard_index=args.shard_index,
            shard_count=args.shard_count,
            scoring_run_id=args.run_id,
            high_risk_threshold=args.high_risk_threshold,
            medium_risk_threshold=args.medium_risk_threshold,
            model_alias=None,
            model_version=args.model_version,
            topic=args.topic,
            attempt=args.attempt,
            shadow_version=args.shadow_version,
        )
        results.append(score_job.score_shard(env, request))
    return results


def score_date(env: Any, s3: Any, bucket: str, scoring_plan: ScoringPlan, topic: str) -> dict[str, Any]:
    """The DAG's steps after check_champion: prepare, shards, swap, manifest."""
    prepare_partition(env.database_url, scoring_plan)
    shards = score_shards(env, scoring_plan, topic)
    swapped = swap_into_trade_scores(env.database_url, scoring_plan)
    manifest = write_manifest(s3, bucket, scoring_plan, swapped)
    return {"shards": shards, "swapped": swapped, "manifest": manifest}


def date_rows(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            f"SELECT {ROW_COLUMNS} FROM ml.trade_scores WHERE business_date = %s ORDER BY trade_id",
            (BUSINESS_DATE,),
        ).fetchall()


def run_ids(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT scoring_run_id FROM ml.trade_scores WHERE business_date = %s", (BUSINESS_DATE,)
        )
        return {row[0] for row in rows}


def date_partition(database_url: str) -> tuple[int, str] | None:
    """The date's partition of ml.trade_scores: (oid, bound), None when there is none."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            """
            SELECT c.oid::bigint, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
            WHERE i.inhparent = 'ml.trade_scores'::regclass AND c.relname = %s
            """,
            (partition_table(BUSINESS_DATE),),
        ).fetchone()


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=contract.scores_prefix(BUSINESS_DATE))["Contents"]
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}
