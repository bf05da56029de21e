"""The scores' S3 swap against moto's S3: each attempt's parts in a folder of their own, the
manifest replaced last, the date's other objects removed only after it; a run that never gets
to its manifest changes nothing that the manifest's readers read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from settlement_model import contract

from include.markets_ops.scoring import manifest
from include.markets_ops.scoring.plan import ScoringPlan, new_attempt
from include.markets_ops.scoring.swap import SwapError

DAY = dt.date(2026, 11, 27)
BUCKET = "markets-ops"
SWAPPED = {"row_count": 5, "high": 1, "medium": 1, "low": 3}


@pytest.fixture
def s3() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def a_plan(run_id: str) -> ScoringPlan:
    return ScoringPlan(DAY, "settlement_fail_risk", "7", 2, 0.7, 0.3, run_id, attempt=new_attempt(run_id))


def write_parts(s3: Any, plan: ScoringPlan, rows: tuple[int, ...] = (2, 3)) -> dict[str, bytes]:
    """The shards' parts as storage.upload stores them: bytes with their checksum and row count."""
    written = {}
    for key, count in zip(plan.part_keys(), rows, strict=True):
        body = f"parquet bytes of {key.rsplit('/', 1)[1]}".encode()  # the same for every attempt
        s3.put_object(
            Bucket=BUCKET,
            Key=key,
            Body=body,
            Metadata={"sha256": hashlib.sha256(body).hexdigest(), "rows": str(count)},
        )
        written[key] = body
    return written


def stored(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=contract.scores_prefix(DAY)).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


def test_each_attempts_parts_go_to_a_folder_of_their_own() -> None:
    first, cleared = (
        a_plan("scheduled__2026-11-27T22:30:00+00:00"),
        a_plan("scheduled__2026-11-27T22:30:00+00:00"),
    )
    assert first.attempt.startswith("scheduled__2026-11-27T22_30_00_00_00-")
    assert first.attempt != cleared.attempt  # a cleared run never writes where its last plan did
    assert first.part_keys() == [
        f"scores/business_date=2026-11-27/run={first.attempt}/part-00000-of-00002.parquet",
        f"scores/business_date=2026-11-27/run={first.attempt}/part-00001-of-00002.parquet",
    ]
    assert ScoringPlan.from_xcom(first.as_xcom()) == first  # the shards get the plan's attempt
    for arguments in first.shard_arguments():
        assert arguments[arguments.index("--attempt") + 1] == first.attempt


def test_a_successful_run_replaces_the_manifest_then_removes_the_dates_other_objects(s3: Any) -> None:
    previous = a_plan("scheduled__previous")
    write_parts(s3, previous)
    manifest.write_manifest(s3, BUCKET, previous, SWAPPED)
    failed = a_plan("manual__failed")
    write_parts(s3, failed, rows=(2, 2))  # a failed run's leftovers (it never wrote a manifest)

    current = a_plan("manual__rerun")
    parts = write_parts(s3, current)
    written = manifest.write_manifest(s3, BUCKET, current, SWAPPED)

    assert stored(s3).keys() == {manifest.manifest_key(DAY), *parts}
    assert written["removed_objects"] == 4  # the previous run's two parts, the failed run's two
    body = json.loads(stored(s3)[manifest.manifest_key(DAY)])
    assert body == {key: value for key, value in written.items() if key not in ("uri", "removed_objects")}
    assert manifest.part_keys(body) == current.part_keys()
    assert (body["schema_version"], body["scoring_run_id"], body["attempt"]) == (
        2,
        "manual__rerun",
        current.attempt,
    )
    assert body["parts_prefix"] == f"scores/business_date=2026-11-27/run={current.attempt}/"
    assert [part["rows"] for part in body["parts"]] == [2, 3]


def test_a_rerun_writes_the_same_manifest_but_for_which_run_wrote_it(s3: Any) -> None:
    first = a_plan("scheduled__first")
    write_parts(s3, first)
    one = manifest.write_manifest(s3, BUCKET, first, SWAPPED)
    second = a_plan("manual__second")
    write_parts(s3, second)
    two = manifest.write_manifest(s3, BUCKET, second, SWAPPED)

    assert one["checksum"] == two["checksum"]
    assert one["parts_prefix"] != two["parts_prefix"]
    drop = ("uri", "removed_objects")
    assert manifest.without_run_identity({k: v for k, v in one.items() if k not in drop}) == (
        manifest.without_run_identity({k: v for k, v in two.items() if k not in drop})
    )


def test_a_run_whose_parts_disagree_with_the_rows_leaves_the_date_as_it_was(s3: Any) -> None:
    previous = a_plan("scheduled__previous")
    write_parts(s3, previous)
    manifest.write_manifest(s3, BUCKET, previous, SWAPPED)
    before = stored(s3)

    short = a_plan("manual__short")
    write_parts(s3, short, rows=(2, 1))
    with pytest.raises(SwapError, match=r"the Parquet parts hold 3 rows but ml\.trade_scores has 5"):
        manifest.write_manifest(s3, BUCKET, short, SWAPPED)
    after = stored(s3)
    assert {key: after[key] for key in before} == before  # the manifest and its parts untouched
    assert set(after) - set(before) == set(short.part_keys())  # removed by the next good run


def test_a_missing_part_fails_before_the_manifest_is_touched(s3: Any) -> None:
    previous = a_plan("scheduled__previous")
    write_parts(s3, previous)
    manifest.write_manifest(s3, BUCKET, previous, SWAPPED)
    before = stored(s3)
    incomplete = dataclasses.replace(a_plan("manual__incomplete"), shard_count=3)
    with pytest.raises(s3.exceptions.ClientError):
        manifest.write_manifest(s3, BUCKET, incomplete, SWAPPED)
    assert stored(s3) == before


@pytest.mark.parametrize("attempt", ["", "../x", "a/b", ".hidden", "x" * 201, "run id"])
def test_an_attempt_is_one_safe_folder_name(attempt: str) -> None:
    with pytest.raises(ValueError, match="a scoring attempt is"):
        contract.scores_run_prefix(DAY, attempt)


def test_an_attempt_names_the_run_it_belongs_to() -> None:
    assert contract.scoring_attempt("manual__2026-11-27T01:02:03.456+00:00", "ab12") == (
        "manual__2026-11-27T01_02_03.456_00_00-ab12"
    )
    assert contract.scoring_attempt("::") == "run"
    assert ScoringPlan(DAY, "m", "1", 1, 0.5, 0.1, "pytest__run").attempt == "pytest__run"
