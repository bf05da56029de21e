"""The jobs' S3 client: bounded, and naming S3 when it does not answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from settlement_model import storage, timeouts
from settlement_model.contract import JobEnvironment


def test_the_client_is_bounded_and_names_s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    env = JobEnvironment(s3_bucket="bucket", s3_endpoint_url="http://127.0.0.1:9", aws_region="us-east-1")
    s3 = storage.client(env)
    assert (s3.meta.config.connect_timeout, s3.meta.config.read_timeout) == (5, 20)
    assert s3.meta.config.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert s3.meta.config.s3 == {"addressing_style": "path"}
    # A download goes through s3transfer, which retries on socket errors: the named error
    # ends it after botocore's own attempts.
    with pytest.raises(timeouts.S3UnavailableError, match=r"^S3 at http://127.0.0.1:9 did not answer"):
        storage.download(env, "some/key", tmp_path / "x")
