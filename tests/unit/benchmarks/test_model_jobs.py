"""The model jobs' environment the benchmarks start them with (benchmarks/model_jobs.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.model_jobs import REPO, model_job_environment

STACK = {
    "S3_BUCKET": "bucket",
    "S3_ENDPOINT_URL": "http://127.0.0.1:1",
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "test-key",  # pragma: allowlist secret
    "AWS_DEFAULT_REGION": "us-east-1",
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:2",
    "MLFLOW_TRACKING_USERNAME": "pipelines",
    "MLFLOW_TRACKING_PASSWORD": "test-password",  # pragma: allowlist secret
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:3",
    "KAFKA_CLIENT_SECURITY_JSON": "{}",
}


def test_a_job_gets_the_contracts_variables_on_the_benchmarks_database_and_model(tmp_path: Path) -> None:
    env = model_job_environment(
        STACK,
        database_url="postgresql://db",
        work=tmp_path / "job",
        model_name="bench",
        threads=4,
        kafka=False,
    )
    assert env["DATABASE_URL"] == "postgresql://db"
    assert env["MLFLOW_MODEL_NAME"] == "bench"
    assert env["OMP_NUM_THREADS"] == "4"
    assert env["WORK_DIR"] == str(tmp_path / "job")
    assert env["TMPDIR"] == env["HOME"] == str(tmp_path / "job" / "tmp")
    assert (tmp_path / "job" / "tmp").is_dir()
    assert env["PYTHONPATH"] == str(REPO / "model_pod")
    assert not any(name.startswith("KAFKA_") for name in env)


def test_only_a_publishing_job_gets_kafka(tmp_path: Path) -> None:
    env = model_job_environment(
        STACK, database_url="postgresql://db", work=tmp_path, model_name="bench", threads=1, kafka=True
    )
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:3"
    assert env["KAFKA_CONFIG_JSON"] == "{}"
