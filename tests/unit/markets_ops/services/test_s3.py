"""Publishing a folder: deterministic keys, the manifest last with every object's checksum."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from include.markets_ops.services.s3 import ReportObject, publish_folder


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: dict) -> None:  # noqa: N803 (boto3's name)
        self.calls.append(("upload_file", key, Path(filename).read_bytes()))

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803
        self.calls.append(("put_object", Key, Body))


def test_objects_first_then_the_manifest_with_their_checksums(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "b.html").write_bytes(b"<html></html>")
    client = RecordingClient()
    keys = publish_folder(
        client,
        "bucket",
        "reports/x/business_date=2026-11-27/",
        [
            ReportObject("a.csv", tmp_path / "a.csv", "text/csv"),
            ReportObject("b.html", tmp_path / "b.html", "text/html"),
        ],
        {"rows": 1},
    )
    assert keys == [
        "reports/x/business_date=2026-11-27/a.csv",
        "reports/x/business_date=2026-11-27/b.html",
        "reports/x/business_date=2026-11-27/manifest.json",
    ]
    assert [call[0] for call in client.calls] == ["upload_file", "upload_file", "put_object"]
    manifest = json.loads(client.calls[-1][2])
    assert manifest["summary"] == {"rows": 1}
    assert manifest["objects"][0] == {
        "key": keys[0],
        "bytes": 8,
        "sha256": hashlib.sha256(b"x,y\n1,2\n").hexdigest(),
        "content_type": "text/csv",
    }


def test_the_prefix_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end with '/'"):
        publish_folder(RecordingClient(), "bucket", "reports/x", [], {})


def test_the_client_is_bounded_and_names_s3_when_it_does_not_answer() -> None:
    from settlement_model import timeouts

    from include.markets_ops.services.s3 import S3Settings, client

    s3 = client(S3Settings("http://127.0.0.1:9", "key", "secret", "us-east-1"))  # pragma: allowlist secret
    assert (s3.meta.config.connect_timeout, s3.meta.config.read_timeout) == (5, 20)
    assert s3.meta.config.retries == {"total_max_attempts": 3, "mode": "standard"}
    # Nothing listens on port 9: refused, retried, then raised with S3 and the call named.
    with pytest.raises(
        timeouts.S3UnavailableError, match=r"^S3 at http://127.0.0.1:9 did not answer GetObject"
    ):
        s3.get_object(Bucket="bucket", Key="key")
