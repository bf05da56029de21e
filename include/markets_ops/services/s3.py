"""S3: the connection id, the pipelines' bucket, the one client factory, and publishing a folder.

``client`` is the only place a boto3 S3 client is made, from ``S3Settings`` (an Airflow
connection's login, password and extra, or the local stack's keys).

Publishing a report folder: deterministic object names, the manifest written last. Readers
look for the manifest first: while it is absent (or names other checksums) the folder is being
written. A rerun writes the same keys, so it replaces the previous objects instead of adding
to them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settlement_model import timeouts

S3_CONN_ID = "s3_markets"
BUCKET_VARIABLE = "s3_bucket"  # the Airflow Variable naming the pipelines' bucket


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None
    access_key: str | None
    secret_key: str | None
    region: str | None

    @classmethod
    def from_connection(cls, connection: Any) -> S3Settings:
        """From an Airflow ``aws`` connection: keys as login and password, the rest in its extra."""
        extra = connection.extra_dejson
        return cls(
            endpoint_url=extra.get("endpoint_url"),
            access_key=connection.login,
            secret_key=connection.password,
            region=extra.get("region_name"),
        )


def client(settings: S3Settings) -> Any:
    """A boto3 S3 client whose calls fail within the bounds of settlement_model.timeouts, with
    S3UnavailableError naming the endpoint when S3 does not answer."""
    import boto3

    return timeouts.name_s3_failures(
        boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            region_name=settings.region,
            config=timeouts.s3_config(),
        )
    )


# --- publishing a report folder ---------------------------------------------------------------
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ReportObject:
    name: str  # the object's name inside the folder, e.g. breaks.parquet
    path: Path
    content_type: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_body(prefix: str, objects: list[ReportObject], summary: dict[str, Any]) -> bytes:
    """The manifest: every object with its size and checksum, and the run's summary."""
    entries = [
        {
            "key": f"{prefix}{obj.name}",
            "bytes": obj.path.stat().st_size,
            "sha256": sha256_of(obj.path),
            "content_type": obj.content_type,
        }
        for obj in objects
    ]
    return json.dumps(
        {"objects": entries, "summary": summary}, indent=2, sort_keys=True, default=str
    ).encode()


def publish_folder(
    s3: Any,
    bucket: str,
    prefix: str,
    objects: list[ReportObject],
    summary: dict[str, Any],
) -> list[str]:
    """Upload ``objects`` under ``prefix`` with the S3 client ``s3``, then the manifest; return
    the keys, manifest last."""
    if not prefix.endswith("/"):
        raise ValueError(f"prefix must end with '/': {prefix!r}")
    keys = []
    for obj in objects:
        key = f"{prefix}{obj.name}"
        s3.upload_file(str(obj.path), bucket, key, ExtraArgs={"ContentType": obj.content_type})
        keys.append(key)
    manifest_key = f"{prefix}{MANIFEST_NAME}"
    s3.put_object(
        Bucket=bucket,
        Key=manifest_key,
        Body=manifest_body(prefix, objects, summary),
        ContentType="application/json",
    )
    keys.append(manifest_key)
    return keys
