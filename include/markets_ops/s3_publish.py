"""Publishing a report folder to S3: deterministic object names, the manifest written last.

Readers look for the manifest first: while it is absent (or names other checksums) the folder is
being written. A rerun writes the same keys, so it replaces the previous objects instead of
adding to them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    s3_hook: Any,
    bucket: str,
    prefix: str,
    objects: list[ReportObject],
    summary: dict[str, Any],
) -> list[str]:
    """Upload ``objects`` under ``prefix`` then the manifest; return the keys, manifest last."""
    if not prefix.endswith("/"):
        raise ValueError(f"prefix must end with '/': {prefix!r}")
    client = s3_hook.get_conn()
    keys = []
    for obj in objects:
        key = f"{prefix}{obj.name}"
        client.upload_file(str(obj.path), bucket, key, ExtraArgs={"ContentType": obj.content_type})
        keys.append(key)
    manifest_key = f"{prefix}{MANIFEST_NAME}"
    client.put_object(
        Bucket=bucket,
        Key=manifest_key,
        Body=manifest_body(prefix, objects, summary),
        ContentType="application/json",
    )
    keys.append(manifest_key)
    return keys
