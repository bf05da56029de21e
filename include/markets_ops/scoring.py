"""What the settlement_risk_scoring DAG does around the scoring pods: plan, swap, manifest.

1. ``ScoringPlan``: the business date, the model version pinned for every shard (resolved
   once, so a promotion during the run cannot mix versions), the shard count and the
   thresholds; each shard's job arguments.
2. ``retract_manifest``: a rerun first removes the date's manifest, so readers never take
   the date's objects for complete while shards rewrite them.
3. ``swap_into_trade_scores``: the shards' staging work tables replace the date's rows of
   ml.trade_scores in one transaction, after checks (every shard present, written by this
   run, with the pinned model, for this date): they become the date's new partition, attached
   in place of the previous one. A failure leaves the previous rows.
4. ``write_manifest``: last, once the rows are in place: the parts' checksums and row
   counts (which must add up to the swapped rows) and the model version.

Names of work tables and objects follow the job contract (docs/pod-contract.md) and match
model_pod/settlement_model/scoring.py (tests/unit check they agree).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from include.markets_ops.sql_files import read_sql

HIGH_THRESHOLD_VARIABLE = "settlement_risk_high_threshold"
MEDIUM_THRESHOLD_VARIABLE = "settlement_risk_medium_threshold"
SHARDS_VARIABLE = "settlement_risk_scoring_shards"
STAGING_SCHEMA = "staging"
SWAP_STATEMENT_TIMEOUT = "15min"
MANIFEST_NAME = "_manifest.json"
MANIFEST_SCHEMA_VERSION = 1


class SwapError(RuntimeError):
    """The shards' work tables are not a complete, consistent scoring of the date."""


def staging_table(business_date: dt.date, shard_index: int, shard_count: int) -> str:
    return f"trade_scores_{business_date:%Y%m%d}_s{shard_index:03d}_of_{shard_count:03d}"


def scores_prefix(business_date: dt.date) -> str:
    return f"scores/business_date={business_date:%Y-%m-%d}/"


def part_key(business_date: dt.date, shard_index: int, shard_count: int) -> str:
    return f"{scores_prefix(business_date)}part-{shard_index:05d}-of-{shard_count:05d}.parquet"


def manifest_key(business_date: dt.date) -> str:
    return f"{scores_prefix(business_date)}{MANIFEST_NAME}"


@dataclass(frozen=True)
class ScoringPlan:
    business_date: dt.date
    model_name: str
    model_version: str
    shard_count: int
    high_risk_threshold: float
    medium_risk_threshold: float
    scoring_run_id: str
    dry_run: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.shard_count <= 64:
            raise ValueError(f"shard count must be between 1 and 64, got {self.shard_count}")
        if not 0 <= self.medium_risk_threshold <= self.high_risk_threshold <= 1:
            raise ValueError(
                f"need 0 <= {MEDIUM_THRESHOLD_VARIABLE} <= {HIGH_THRESHOLD_VARIABLE} <= 1, got "
                f"{self.medium_risk_threshold} and {self.high_risk_threshold}"
            )

    def shard_arguments(self) -> list[list[str]]:
        """The ``score`` job's arguments for each shard (one mapped task instance each)."""
        common = [
            "--business-date", self.business_date.isoformat(),
            "--shard-count", str(self.shard_count),
            "--model-version", self.model_version,
            "--run-id", self.scoring_run_id,
            "--high-risk-threshold", repr(self.high_risk_threshold),
            "--medium-risk-threshold", repr(self.medium_risk_threshold),
        ]  # fmt: skip
        dry_run = ["--dry-run"] if self.dry_run else []
        return [[*common, "--shard-index", str(index), *dry_run] for index in range(self.shard_count)]

    def as_xcom(self) -> dict[str, Any]:
        return {**asdict(self), "business_date": self.business_date.isoformat()}

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> ScoringPlan:
        return cls(**{**value, "business_date": dt.date.fromisoformat(value["business_date"])})


def thresholds_from_variables() -> tuple[float, float]:
    from airflow.sdk import Variable

    return float(Variable.get(HIGH_THRESHOLD_VARIABLE)), float(Variable.get(MEDIUM_THRESHOLD_VARIABLE))


def shard_count_from_variable(requested: int | None) -> int:
    from airflow.sdk import Variable

    return int(requested) if requested else int(Variable.get(SHARDS_VARIABLE))


# --------------------------------------------------------------------------- S3


def s3_client() -> Any:
    import boto3

    from include.markets_ops import connections

    settings = connections.s3_settings()
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        region_name=settings.region,
    )


def retract_manifest(s3: Any, bucket: str, business_date: dt.date) -> None:
    s3.delete_object(Bucket=bucket, Key=manifest_key(business_date))


def write_manifest(s3: Any, bucket: str, plan: ScoringPlan, swapped: dict[str, Any]) -> dict[str, Any]:
    """Write the date's manifest after checking the parts against the swapped rows; remove
    objects of the date that are not parts of this run (an earlier run's other shard count)."""
    parts = []
    for index in range(plan.shard_count):
        key = part_key(plan.business_date, index, plan.shard_count)
        head = s3.head_object(Bucket=bucket, Key=key)
        metadata = head.get("Metadata", {})
        parts.append(
            {
                "key": key,
                "rows": int(metadata["rows"]),
                "sha256": metadata["sha256"],
                "bytes": int(head["ContentLength"]),
            }
        )
    part_rows = sum(part["rows"] for part in parts)
    if part_rows != swapped["row_count"]:
        raise SwapError(
            f"the Parquet parts hold {part_rows} rows but ml.trade_scores has {swapped['row_count']} "
            f"for {plan.business_date}: rerun the scoring"
        )
    keep = {part["key"] for part in parts} | {manifest_key(plan.business_date)}
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=scores_prefix(plan.business_date)).get("Contents", [])
    for stale in (item["Key"] for item in listed if item["Key"] not in keep):
        s3.delete_object(Bucket=bucket, Key=stale)
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "business_date": plan.business_date.isoformat(),
        "model_name": plan.model_name,
        "model_version": plan.model_version,
        "row_count": part_rows,
        "risk_bands": {band: swapped[band] for band in ("high", "medium", "low")},
        "high_risk_threshold": plan.high_risk_threshold,
        "medium_risk_threshold": plan.medium_risk_threshold,
        "shard_count": plan.shard_count,
        "parts": parts,
        # One checksum over the parts' checksums, in order: equal iff every part is equal.
        "checksum": hashlib.sha256(
            "\n".join(f"{part['key']} {part['sha256']}" for part in parts).encode()
        ).hexdigest(),
        "scoring_run_id": plan.scoring_run_id,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    s3.put_object(
        Bucket=bucket, Key=manifest_key(plan.business_date), Body=body, ContentType="application/json"
    )
    return {**manifest, "uri": f"s3://{bucket}/{manifest_key(plan.business_date)}"}


# --------------------------------------------------------------------------- warehouse


def _identifier(table: str) -> Any:
    from psycopg import sql

    return sql.Identifier(STAGING_SCHEMA, table)


def _formatted(name: str, table: str, **identifiers: Any) -> Any:
    from psycopg import sql

    return sql.SQL(read_sql(name)).format(staging_table=_identifier(table), **identifiers)


def partition_table(business_date: dt.date) -> str:
    """The date's partition of ml.trade_scores (named by migration 0005's functions)."""
    return f"trade_scores_p{business_date:%Y%m%d}"


def swap_into_trade_scores(database_url: str, plan: ScoringPlan) -> dict[str, Any]:
    """Replace the date's rows of ml.trade_scores by the shards' work tables, in one transaction.

    ml.trade_scores is partitioned by business date: the shards' rows fill a new table (no
    indexes while it fills), which is then indexed and attached in place of the date's previous
    partition. Readers see the previous partition until the commit, then the new one.
    """
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row

    params = {"business_date": plan.business_date}
    tables = [staging_table(plan.business_date, i, plan.shard_count) for i in range(plan.shard_count)]
    with psycopg.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (SWAP_STATEMENT_TIMEOUT,))
        conn.execute(read_sql("scoring/lock_business_date.sql"), params)
        _check_shards(conn, plan, tables)
        prepared = conn.execute(read_sql("scoring/prepare_trade_scores_partition.sql"), params).fetchone()
        new_partition = f"{partition_table(plan.business_date)}_next"
        if prepared is None or prepared["table_name"] != new_partition:
            raise SwapError(
                f"ml.prepare_trade_scores_partition gave {prepared}, expected {new_partition}: "
                "the warehouse's functions (migration 0005) and this code disagree"
            )
        target = sql.Identifier("ml", new_partition)
        for table in tables:
            conn.execute(
                _formatted("scoring/insert_trade_scores_from_staging.sql", table, partition_table=target),
                params,
            )
        conn.execute(read_sql("scoring/attach_trade_scores_partition.sql"), params)
        summary = conn.execute(read_sql("scoring/trade_scores_summary.sql"), params).fetchone()
        assert summary is not None
        if summary["model_versions"] not in ([], [plan.model_version]):
            raise SwapError(f"ml.trade_scores would mix model versions {summary['model_versions']}")
        pattern = {"pattern": f"trade\\_scores\\_{plan.business_date:%Y%m%d}\\_%"}
        for row in conn.execute(read_sql("scoring/staging_tables_of_date.sql"), pattern).fetchall():
            conn.execute(_formatted("scoring/drop_staging_table.sql", row["tablename"]))
    return {
        "business_date": plan.business_date.isoformat(),
        "row_count": summary["row_count"],
        "high": summary["high"],
        "medium": summary["medium"],
        "low": summary["low"],
        "model_version": plan.model_version,
    }


def _check_shards(conn: Any, plan: ScoringPlan, tables: list[str]) -> None:
    problems = []
    for index, table in enumerate(tables):
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (f"{STAGING_SCHEMA}.{table}",))
        if not exists.fetchone()["found"]:
            problems.append(f"shard {index}: work table {STAGING_SCHEMA}.{table} is missing")
            continue
        summary = conn.execute(
            _formatted("scoring/shard_summary.sql", table), {"business_date": plan.business_date}
        ).fetchone()
        if summary["other_dates"]:
            problems.append(f"shard {index}: {summary['other_dates']} rows of another business date")
        if summary["row_count"] and summary["model_versions"] != [plan.model_version]:
            problems.append(
                f"shard {index}: model versions {summary['model_versions']}, expected {plan.model_version}"
            )
        if summary["row_count"] and summary["scoring_run_ids"] != [plan.scoring_run_id]:
            problems.append(f"shard {index}: written by runs {summary['scoring_run_ids']}, not this run")
    if problems:
        raise SwapError(
            f"not swapping {plan.business_date} into ml.trade_scores ({len(problems)} problems): "
            + "; ".join(problems)
        )


# --------------------------------------------------------------------------- the DAG's tasks


def check_champion(context: Any) -> dict[str, Any]:
    """The business date and the model version every shard will use (the champion unless a
    version is asked for). Fails fast, without retries, when there is none."""
    from airflow.sdk.exceptions import AirflowFailException

    from include.markets_ops import model_registry
    from include.markets_ops.business_date import resolve_business_date

    business_date = resolve_business_date(context)
    requested = (context.get("params") or {}).get("model_version")
    try:
        version = model_registry.scoring_version(model_registry.client(), requested)
    except model_registry.ModelNotFoundError as error:
        raise AirflowFailException(str(error)) from error
    return {
        "business_date": business_date.isoformat(),
        "model_name": model_registry.MODEL_NAME,
        "model_version": version,
    }


def plan_run(context: Any, champion: dict[str, Any]) -> dict[str, Any]:
    """The run's plan (shards from the param or the Variable, thresholds from Variables) and
    each shard's job arguments. Unless a dry run, the date's manifest is retracted first."""
    from include.markets_ops import connections

    params = context.get("params") or {}
    high, medium = thresholds_from_variables()
    plan = ScoringPlan(
        business_date=dt.date.fromisoformat(champion["business_date"]),
        model_name=champion["model_name"],
        model_version=champion["model_version"],
        shard_count=shard_count_from_variable(params.get("shards")),
        high_risk_threshold=high,
        medium_risk_threshold=medium,
        scoring_run_id=str(context["run_id"]),
        dry_run=bool(params.get("dry_run")),
    )
    if not plan.dry_run:
        retract_manifest(s3_client(), connections.s3_bucket(), plan.business_date)
    return {"plan": plan.as_xcom(), "shard_arguments": plan.shard_arguments()}


def swap(plan_xcom: dict[str, Any]) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowSkipException

    from include.markets_ops import connections

    plan = ScoringPlan.from_xcom(plan_xcom)
    if plan.dry_run:
        raise AirflowSkipException("dry run: the shards' work tables stay in staging for inspection")
    return swap_into_trade_scores(connections.postgres_url(), plan)


def publish_manifest(plan_xcom: dict[str, Any], swapped: dict[str, Any]) -> dict[str, Any]:
    from include.markets_ops import connections

    plan = ScoringPlan.from_xcom(plan_xcom)
    return write_manifest(s3_client(), connections.s3_bucket(), plan, swapped)
