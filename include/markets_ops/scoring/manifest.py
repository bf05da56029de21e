"""The date's scores in S3: the shards' Parquet parts and the manifest written last.

The parts' names are the job contract's (settlement_model.contract, which the shards write by);
the manifest is the DAG's. A rerun first removes the date's manifest (``retract_manifest``), so
readers never take the date's objects for complete while shards rewrite them;
``write_manifest`` runs last, once the rows are in place: the parts' checksums and row counts
(which must add up to the swapped rows) and the model version.
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
MANIFEST_SCHEMA_VERSION = 1


def manifest_key(business_date: dt.date) -> str:
    return f"{contract.scores_prefix(business_date)}{MANIFEST_NAME}"


def retract_manifest(s3: Any, bucket: str, business_date: dt.date) -> None:
    s3.delete_object(Bucket=bucket, Key=manifest_key(business_date))


def write_manifest(s3: Any, bucket: str, plan: ScoringPlan, swapped: dict[str, Any]) -> dict[str, Any]:
    """Write the date's manifest after checking the parts against the swapped rows; remove
    objects of the date that are not parts of this run (an earlier run's other shard count)."""
    parts = []
    for index in range(plan.shard_count):
        key = contract.part_key(plan.business_date, index, plan.shard_count)
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
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=contract.scores_prefix(plan.business_date)).get(
        "Contents", []
    )
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
