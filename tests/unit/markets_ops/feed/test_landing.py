from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from moto import mock_aws

from include.markets_ops.feed import landing

DAY = dt.date(2026, 10, 30)
TABLE = pa.table({"trade_id": ["T1", "T2", None], "quantity": ["1.0000", "-2.0000", "3.0000"]})
# A dry run's upstream files: delivered and read back under the preview prefix, never landing/.
PREVIEW_TABLE = pa.table({"trade_id": ["T1", "T2"], "quantity": pa.array([1.0, 2.0])})
PREVIEW = "previews/ops_demo_feed/manual__x/"


def test_keys_are_deterministic_per_source_and_date() -> None:
    assert landing.object_key("trades", DAY) == "landing/trades/business_date=2026-10-30/trades.csv.gz"
    assert landing.manifest_key("trades", DAY) == "landing/trades/business_date=2026-10-30/_manifest.json"


def test_publishing_the_same_rows_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    first = landing.publish(landing.LocalStore(tmp_path / "a"), "trades", DAY, TABLE)
    second = landing.publish(landing.LocalStore(tmp_path / "b"), "trades", DAY, TABLE)
    assert first == second
    assert (tmp_path / "a" / first.object_key).read_bytes() == (
        tmp_path / "b" / first.object_key
    ).read_bytes()
    assert first.rows == 3


def test_streaming_gives_back_the_csv_and_checks_the_manifest(tmp_path: Path) -> None:
    store = landing.LocalStore(tmp_path)
    landing.publish(store, "trades", DAY, TABLE)
    manifest = landing.read_manifest(store, "trades", DAY)
    text = b"".join(landing.stream(store, manifest)).decode()
    assert text.splitlines() == ['"trade_id","quantity"', '"T1","1.0000"', '"T2","-2.0000"', ',"3.0000"']


def test_a_file_altered_after_delivery_is_refused(tmp_path: Path) -> None:
    store = landing.LocalStore(tmp_path)
    manifest = landing.publish(store, "trades", DAY, TABLE)
    path = tmp_path / manifest.object_key
    path.write_bytes(gzip.compress(b'"trade_id","quantity"\n"T9","9.0000"\n', mtime=0))
    with pytest.raises(landing.CorruptFileError, match="manifest says"):
        b"".join(landing.stream(store, manifest))


def test_a_file_without_manifest_is_not_delivered(tmp_path: Path) -> None:
    with pytest.raises(landing.FileNotDeliveredError, match="not delivered"):
        landing.read_manifest(landing.LocalStore(tmp_path), "trades", DAY)


@mock_aws
def test_the_s3_store_round_trip() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="landing-test")
    store = landing.S3Store(client, "landing-test")
    with pytest.raises(landing.FileNotDeliveredError):
        landing.read_manifest(store, "trades", DAY)
    manifest = landing.publish(store, "trades", DAY, TABLE)
    assert landing.read_manifest(store, "trades", DAY) == manifest
    assert b"".join(landing.stream(store, manifest)).count(b"\n") == 4


def test_files_go_under_the_preview_prefix_and_are_read_back_from_there(tmp_path: Path) -> None:
    store = landing.PrefixedStore(landing.LocalStore(tmp_path), PREVIEW)
    landing.publish(store, "trades", DAY, PREVIEW_TABLE)
    assert not (tmp_path / "landing").exists()
    assert (tmp_path / PREVIEW / landing.object_key("trades", DAY)).exists()
    manifest = landing.read_manifest(store, "trades", DAY)
    assert b"".join(landing.stream(store, manifest)).decode().splitlines()[1] == '"T1",1'


def test_the_prefix_is_a_folder() -> None:
    with pytest.raises(ValueError, match="must end with"):
        landing.PrefixedStore(landing.LocalStore(Path("/tmp")), "previews/x")
