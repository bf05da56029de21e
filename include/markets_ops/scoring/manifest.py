"""The date's scores in S3: the shards' Parquet parts and the manifest that lists them.

They swap as the warehouse's rows do. Each scoring attempt's shards write their parts in a
folder of their own, ``scores/business_date=D/run=<attempt>/`` (the job contract's names,
settlement_model.contract, which the shards write by); the date's manifest,
``scores/business_date=D/_manifest.json``, names the attempt whose parts it lists. While a run
scores, the date's manifest still lists the previous attempt's parts, which nobody touches: a
run that fails leaves the date as readers saw it. ``write_manifest`` runs last, once the rows
are swapped in: it checks the run's parts against the swapped rows (checksums, row counts),
replaces the manifest in one PUT, and only then removes the date's other objects (the previous
attempt's parts, a failed attempt's leftovers).

Readers read the manifest first, then the parts it lists (``part_keys``), never a listing of
the date's prefix: a listing can hold a running or failed attempt's parts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from settlement_model import contract

from include.markets_ops.scoring.plan import ScoringPlan
from include.markets_ops.scoring.swap import SwapError

MANIFEST_NAME = "_manifest.json"
MANIFEST_SCHEMA_VERSION = 2  # 2: parts under the attempt's folder (parts_prefix + name)
# The fields that say which run wrote the manifest; a rerun of the date writes the same
# manifest apart from these.
RUN_IDENTITY_FIELDS = ("scoring_run_id", "attempt", "parts_prefix")


def manifest_key(business_date: dt.date) -> str:
    return f"{contract.scores_prefix(business_date)}{MANIFEST_NAME}"


def part_keys(manifest: dict[str, Any]) -> list[str]:
    """The S3 keys of the parts a manifest lists, in shard order."""
    return [f"{manifest['parts_prefix']}{part['name']}" for part in manifest["parts"]]


def without_run_identity(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's content, which a rerun of the date reproduces."""
    return {key: value for key, value in manifest.items() if key not in RUN_IDENTITY_FIELDS}


def write_manifest(s3: Any, bucket: str, plan: ScoringPlan, swapped: dict[str, Any]) -> dict[str, Any]:
    """Replace the date's manifest with one listing this run's parts, after checking them
    against the swapped rows; then remove the date's objects that it does not list."""
    parts = [_described_part(s3, bucket, plan, index) for index in range(plan.shard_count)]
    part_rows = sum(part["rows"] for part in parts)
    if part_rows != swapped["row_count"]:
        raise SwapError(
            f"the Parquet parts hold {part_rows} rows but ml.trade_scores has {swapped['row_count']} "
            f"for {plan.business_date}: rerun the scoring"
        )
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
        # One checksum over the parts' names and checksums, in order: equal iff every part is
        # equal, whichever attempt wrote them.
        "checksum": hashlib.sha256(
            "\n".join(f"{part['name']} {part['sha256']}" for part in parts).encode()
        ).hexdigest(),
        "scoring_run_id": plan.scoring_run_id,
        "attempt": plan.attempt,
        "parts_prefix": plan.parts_prefix,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    key = manifest_key(plan.business_date)
    # One PUT replaces the object whole: a reader gets the previous manifest or this one.
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    removed = remove_unlisted_objects(s3, bucket, plan.business_date, manifest)
    return {**manifest, "uri": f"s3://{bucket}/{key}", "removed_objects": removed}


def _described_part(s3: Any, bucket: str, plan: ScoringPlan, index: int) -> dict[str, Any]:
    """A part as the manifest lists it, from the metadata its shard stored with it."""
    key = contract.part_key(plan.business_date, plan.attempt, index, plan.shard_count)
    head = s3.head_object(Bucket=bucket, Key=key)
    metadata = head.get("Metadata", {})
    return {
        "name": contract.part_name(index, plan.shard_count),
        "rows": int(metadata["rows"]),
        "sha256": metadata["sha256"],
        "bytes": int(head["ContentLength"]),
    }


def remove_unlisted_objects(s3: Any, bucket: str, business_date: dt.date, manifest: dict[str, Any]) -> int:
    """Delete the date's objects that ``manifest`` (the one just written) neither is nor lists:
    earlier attempts' parts, whether their run succeeded or failed. Run after the manifest is
    in place, never before: until then readers still read the previous attempt's parts."""
    keep = {*part_keys(manifest), manifest_key(business_date)}
    paginator = s3.get_paginator("list_objects_v2")
    removed = 0
    for page in paginator.paginate(Bucket=bucket, Prefix=contract.scores_prefix(business_date)):
        for key in (item["Key"] for item in page.get("Contents", [])):
            if key not in keep:
                s3.delete_object(Bucket=bucket, Key=key)
                removed += 1
    return removed
