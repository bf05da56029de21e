"""S3 objects with deterministic names, and the checksums readers verify them by."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settlement_model import timeouts
from settlement_model.contract import JobEnvironment

# User metadata every data object carries, so the manifest writer can list what each holds
# without reading it back.
META_SHA256 = "sha256"
META_ROWS = "rows"


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    sha256: str
    rows: int
    bytes: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def client(env: JobEnvironment) -> Any:
    import boto3

    # Credentials come from the standard AWS variables (or the pod's service account
    # identity in the cloud); they are never arguments. Timeouts and retries: timeouts.py.
    return timeouts.name_s3_failures(
        boto3.client(
            "s3",
            endpoint_url=env.s3_endpoint_url,
            region_name=env.aws_region,
            config=timeouts.s3_config(s3={"addressing_style": "path"}),
        )
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def upload(
    env: JobEnvironment, path: Path, key: str, rows: int, content_type: str, *, s3: Any | None = None
) -> StoredObject:
    """Upload a local file under ``key`` (replacing it), with its checksum and row count; with
    ``s3``, a client made beforehand (``client``), else a new one."""
    checksum = sha256_of(path)
    (s3 or client(env)).upload_file(
        str(path),
        env.s3_bucket,
        key,
        ExtraArgs={"Metadata": {META_SHA256: checksum, META_ROWS: str(rows)}, "ContentType": content_type},
    )
    return StoredObject(env.s3_bucket, key, checksum, rows, path.stat().st_size)


def download(env: JobEnvironment, key: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    client(env).download_file(env.s3_bucket, key, str(path))
    return path
