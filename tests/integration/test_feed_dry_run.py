"""ops_demo_feed with dry_run on the stack: the date's files and load reports land in the run's
preview, and nothing else changes (ops.*, reporting.quarantine, the ground truth, landing/, assets)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from include.markets_ops.airflow.dry_run import preview_prefix
from tests.integration.feed_stack import (
    FEED_DAG,
    asset_events,
    day_state,
    ensure_history,
    return_value,
    run_feed,
)


def _landing_digests(s3: Any, bucket: str, day: str) -> dict[str, str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="landing/").get("Contents", [])
    return {
        o["Key"]: hashlib.sha256(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()).hexdigest()
        for o in listing
        if f"business_date={day}/" in o["Key"]
    }


def test_a_feed_dry_run_writes_its_preview_only(stack: dict[str, str], airflow_api: Any) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
        region_name=stack["AWS_DEFAULT_REGION"],
    )
    bucket = stack["S3_BUCKET"]
    _, day = ensure_history(stack)
    run_feed(airflow_api, day)  # the date as a real run leaves it
    before, landing_before = day_state(stack, day), _landing_digests(s3, bucket, day.isoformat())

    # Ten times the malformed rows: the preview quarantines more, the warehouse does not change.
    run = run_feed(airflow_api, day, dry_run=True, bad_row_rate=0.02)

    assert day_state(stack, day) == before  # ops.*, reporting.quarantine and synthetic truth
    assert _landing_digests(s3, bucket, day.isoformat()) == landing_before
    assert asset_events(airflow_api, run["dag_run_id"]) == {}
    preview = preview_prefix(FEED_DAG, run["dag_run_id"])
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=preview)["Contents"]}
    for source in ("trades", "custodian_confirmations", "settlement_outcomes"):
        assert f"{preview}landing/{source}/business_date={day.isoformat()}/_manifest.json" in keys
        assert f"{preview}load_reports/{source}.json" in keys
    trades = json.loads(s3.get_object(Bucket=bucket, Key=f"{preview}load_reports/trades.json")["Body"].read())
    counts = return_value(airflow_api, run["dag_run_id"], "report_counts")
    assert counts["sources"]["trades"] == trades
    real_quarantined = len([row for row in before["quarantine"] if row[0] == "trades"])
    assert trades["quarantined"] > real_quarantined
