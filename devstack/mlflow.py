"""MLflow tracking server: PostgreSQL backend store, S3 artifact store proxied by the server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from devstack.config import HOST, S3_BUCKET, S3_REGION, Stack
from devstack.process import recorded_pid, start_detached, stop_group, wait_until

NAME = "mlflow"


def server_argv(stack: Stack) -> list[str]:
    return [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        stack.pg_url("mlflow", "mlflow", driver="postgresql+psycopg"),
        # Clients never hold S3 credentials: artifacts go through the server (mlflow-artifacts:/).
        "--serve-artifacts",
        "--artifacts-destination",
        f"s3://{S3_BUCKET}/mlflow-artifacts",
        "--host",
        HOST,
        "--port",
        str(stack.ports["mlflow"]),
        "--workers",
        "2",  # 2 cores
        # uvicorn kills a worker that does not answer its health check within 5 s; a worker
        # importing MLflow on a loaded 2-core machine takes longer, so it was killed and
        # restarted for minutes (and the stack never came up).
        "--uvicorn-opts",
        "--timeout-worker-healthcheck 60",
    ]


def server_env(stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_S3_ENDPOINT_URL": stack.s3_endpoint,
            "AWS_ACCESS_KEY_ID": stack.secrets["s3_access_key"],
            "AWS_SECRET_ACCESS_KEY": stack.secrets["s3_secret_key"],
            "AWS_DEFAULT_REGION": S3_REGION,
            # The GenAI job runner (a pool of huey workers, ~1.3 GB) serves no use here.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
    )
    return env


def start(stack: Stack) -> None:
    if recorded_pid(NAME):
        return
    pid = start_detached(NAME, server_argv(stack), env=server_env(stack))
    # The first start runs MLflow's database migrations (~20 s on 2 cores).
    wait_until(NAME, lambda: _healthy(stack), timeout=180, pid=pid)


def _healthy(stack: Stack) -> bool:
    import requests

    return requests.get(f"{stack.mlflow_uri}/health", timeout=3).status_code == 200


def stop() -> bool:
    return stop_group(NAME)
