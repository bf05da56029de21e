"""The model jobs as the benchmarks start them: the job contract's environment on a benchmark's
database and model name (the embedded runtime's, jobs/local_runtime.py, without Airflow)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def model_job_environment(
    stack: dict[str, str], *, database_url: str, work: Path, model_name: str, threads: int, kafka: bool
) -> dict[str, str]:
    """A model job's contract environment on the stack's services; Kafka only for the jobs that
    publish (score)."""
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
        "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": str(threads),
        "PYTHONPATH": str(REPO / "model_pod"),
        "HOME": str(tmp), "TMPDIR": str(tmp), "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "WORK_DIR": str(work),
        "DATABASE_URL": database_url,
        "S3_BUCKET": stack["S3_BUCKET"], "S3_ENDPOINT_URL": stack["S3_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": stack["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": stack["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": stack["AWS_DEFAULT_REGION"],
        "MLFLOW_TRACKING_URI": stack["MLFLOW_TRACKING_URI"], "MLFLOW_MODEL_NAME": model_name,
        "MLFLOW_TRACKING_USERNAME": stack["MLFLOW_TRACKING_USERNAME"],
        "MLFLOW_TRACKING_PASSWORD": stack["MLFLOW_TRACKING_PASSWORD"],
    }  # fmt: skip
    if kafka:
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=stack["KAFKA_BOOTSTRAP_SERVERS"],
            NO_PROXY="*",
            KAFKA_CONFIG_JSON=stack["KAFKA_CLIENT_SECURITY_JSON"],
        )
    return env
