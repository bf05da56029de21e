"""What the settlement_risk_scoring DAG does around the scoring pods: plan, swap, manifest.

1. ``ScoringPlan``: the business date, the model version pinned for every shard (resolved
   once, so a promotion during the run cannot mix versions), the shard count and the
   thresholds; each shard's job arguments.
2. ``plan_run``: a rerun first removes the date's manifest, so readers never take the date's
   objects for complete while shards rewrite them; then ``prepare_partition`` creates the
   date's empty next partition, ml.trade_scores_pYYYYMMDD_next, which the shards write into
   directly (each replacing its own slice, in one transaction per shard).
3. ``swap_into_trade_scores``: the next partition is attached in place of the date's previous
   one in one transaction, after checks (it exists, written by this run with the pinned model,
   not empty while trades are pending). A failure leaves the previous rows.
4. ``write_manifest``: last, once the rows are in place: the parts' checksums and row
   counts (which must add up to the swapped rows) and the model version.

Names of tables and objects follow the job contract (docs/pod-contract.md) and match
model_pod/settlement_model/scoring.py (tests/unit check they agree). A dry run writes only
the shards' staging work tables (no next partition, no swap).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from include.markets_ops.services import postgres
from include.markets_ops.services.sql_files import read_sql

HIGH_THRESHOLD_VARIABLE = "settlement_risk_high_threshold"
MEDIUM_THRESHOLD_VARIABLE = "settlement_risk_medium_threshold"
SHARDS_VARIABLE = "settlement_risk_scoring_shards"
STAGING_SCHEMA = "staging"
SWAP_STATEMENT_TIMEOUT = "15min"
MANIFEST_NAME = "_manifest.json"
MANIFEST_SCHEMA_VERSION = 1


class SwapError(RuntimeError):
    """The date's next partition is missing or not a consistent scoring of the date by this run."""


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


def _drop_staging_table(table: str) -> Any:
    from psycopg import sql

    return sql.SQL(read_sql("scoring/drop_staging_table.sql")).format(
        staging_table=sql.Identifier(STAGING_SCHEMA, table)
    )


def partition_table(business_date: dt.date) -> str:
    """The date's partition of ml.trade_scores (named by migration 0005's functions)."""
    return f"trade_scores_p{business_date:%Y%m%d}"


def next_partition_table(business_date: dt.date) -> str:
    """The date's next partition, which the shards fill (ml.prepare_trade_scores_partition's name)."""
    return f"{partition_table(business_date)}_next"


def _begin(conn: Any, plan: ScoringPlan) -> dict[str, Any]:
    """The statement timeout and the date's lock, for the current transaction."""
    params = {"business_date": plan.business_date}
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (SWAP_STATEMENT_TIMEOUT,))
    conn.execute(read_sql("scoring/lock_business_date.sql"), params)
    return params


def prepare_partition(database_url: str, plan: ScoringPlan) -> str:
    """Create the date's empty next partition (dropping a leftover one) for the shards to fill.

    Committed on its own, before the shards start: each shard then writes its slice straight
    into it, and the swap attaches it. Returns its name in ml.
    """
    from psycopg.rows import dict_row

    expected = next_partition_table(plan.business_date)
    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        params = _begin(conn, plan)
        prepared = conn.execute(read_sql("scoring/prepare_trade_scores_partition.sql"), params).fetchone()
    if prepared is None or prepared["table_name"] != expected:
        raise SwapError(
            f"ml.prepare_trade_scores_partition gave {prepared}, expected {expected}: "
            "the warehouse's functions (migration 0005) and this code disagree"
        )
    return expected


def swap_into_trade_scores(database_url: str, plan: ScoringPlan) -> dict[str, Any]:
    """Attach the date's next partition, which the shards filled, in place of the previous one.

    One transaction: the next partition is indexed and attached, then checked (this run's
    rows, the pinned model, not empty while trades are pending); a failed check rolls the
    attach back. Readers see the previous partition until the commit, then the new one.
    """
    from psycopg.rows import dict_row

    new_partition = next_partition_table(plan.business_date)
    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        params = _begin(conn, plan)
        table = {"table": f"ml.{new_partition}"}
        exists = conn.execute(read_sql("scoring/table_exists.sql"), table).fetchone()
        if exists is None or not exists["found"]:
            raise SwapError(
                f"not swapping {plan.business_date}: ml.{new_partition} is missing (plan_shards prepares "
                "it and the swap consumes it; a shard rerun after the swap, or a run that skipped "
                "plan_shards?): rerun the whole run"
            )
        conn.execute(read_sql("scoring/attach_trade_scores_partition.sql"), params)
        summary = conn.execute(read_sql("scoring/trade_scores_summary.sql"), params).fetchone()
        assert summary is not None
        _check_swapped(conn, plan, summary)
        pattern = {"pattern": f"trade\\_scores\\_{plan.business_date:%Y%m%d}\\_%"}
        for row in conn.execute(read_sql("scoring/staging_tables_of_date.sql"), pattern).fetchall():
            conn.execute(_drop_staging_table(row["tablename"]))
    return {
        "business_date": plan.business_date.isoformat(),
        "row_count": summary["row_count"],
        "high": summary["high"],
        "medium": summary["medium"],
        "low": summary["low"],
        "model_version": plan.model_version,
    }


def _check_swapped(conn: Any, plan: ScoringPlan, summary: dict[str, Any]) -> None:
    """Refuse (rolling the attach back) rows that are not this run's scoring of the date.

    Rows of another run or model version are stale: the next partition was filled by shards of
    another run (e.g. this run's plan was not the last to prepare it). No rows at all is a
    legitimate day only when no trade is pending: otherwise the shards did not write.
    """
    problems = []
    if summary["model_versions"] not in ([], [plan.model_version]):
        problems.append(f"model versions {summary['model_versions']}, expected {plan.model_version}")
    if summary["scoring_run_ids"] not in ([], [plan.scoring_run_id]):
        problems.append(
            f"rows written by scoring runs {summary['scoring_run_ids']}, expected {plan.scoring_run_id}"
        )
    if summary["row_count"] == 0:
        pending = conn.execute(
            read_sql("scoring/pending_trades_exist.sql"), {"business_date": plan.business_date}
        )
        if pending.fetchone()["pending"]:
            problems.append("no scores at all, but trades are pending on the date")
    if problems:
        next_table = next_partition_table(plan.business_date)
        raise SwapError(
            f"not swapping {plan.business_date} into ml.trade_scores (ml.{next_table}: "
            + "; ".join(problems)
            + "): nothing was changed; rerun the whole run"
        )


# --------------------------------------------------------------------------- the DAG's tasks


def check_champion(context: Any) -> dict[str, Any]:
    """The business date and the model version every shard will use (the champion unless a
    version is asked for). Fails fast, without retries, when there is none."""
    from airflow.sdk.exceptions import AirflowFailException

    from include.markets_ops.airflow import connections
    from include.markets_ops.airflow.business_date import resolve_business_date
    from include.markets_ops.services import model_registry

    business_date = resolve_business_date(context)
    requested = (context.get("params") or {}).get("model_version")
    try:
        version = model_registry.scoring_version(connections.mlflow_client(), requested)
    except model_registry.ModelNotFoundError as error:
        raise AirflowFailException(str(error)) from error
    return {
        "business_date": business_date.isoformat(),
        "model_name": model_registry.MODEL_NAME,
        "model_version": version,
    }


def plan_run(context: Any, champion: dict[str, Any]) -> dict[str, Any]:
    """The run's plan (shards from the param or the Variable, thresholds from Variables) and
    each shard's job arguments. Unless a dry run, the date's manifest is retracted and the
    date's next partition prepared for the shards to write into."""
    from include.markets_ops.airflow import connections

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
        retract_manifest(connections.s3_client(), connections.s3_bucket(), plan.business_date)
        prepare_partition(connections.postgres_url(), plan)
    return {"plan": plan.as_xcom(), "shard_arguments": plan.shard_arguments()}


def swap(plan_xcom: dict[str, Any]) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowSkipException

    from include.markets_ops.airflow import connections

    plan = ScoringPlan.from_xcom(plan_xcom)
    if plan.dry_run:
        raise AirflowSkipException("dry run: the shards' work tables stay in staging for inspection")
    return swap_into_trade_scores(connections.postgres_url(), plan)


def publish_manifest(plan_xcom: dict[str, Any], swapped: dict[str, Any]) -> dict[str, Any]:
    from include.markets_ops.airflow import connections

    plan = ScoringPlan.from_xcom(plan_xcom)
    return write_manifest(connections.s3_client(), connections.s3_bucket(), plan, swapped)
