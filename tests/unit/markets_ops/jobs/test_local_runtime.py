"""The embedded job runtime: a separate process, only the contract's environment, its output
streamed line by line into the task log, its exit code honoured."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowException

from include.markets_ops.airflow.retries import Cause, cause_of
from include.markets_ops.jobs import local_runtime
from include.markets_ops.jobs.spec import JobContractError

FAKE_JOB = """
import json, os, sys, time
print("first line", flush=True)
time.sleep(1.5)
print("args " + json.dumps(sys.argv[1:]), flush=True)
print("env " + json.dumps(sorted(os.environ)), flush=True)
sys.exit(int(os.environ.get("FAKE_EXIT", sys.argv[-1])))
"""


class RecordingLog:
    """Stands in for the task logger: keeps each line with the time it was logged."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []

    def info(self, message: str, *args: object) -> None:
        self.lines.append((time.monotonic(), message % args if args else message))

    warning = debug = error = info

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


@pytest.fixture
def fake_model_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``settlement_model`` package whose entry point prints, waits and exits."""
    package = tmp_path / "pod" / "settlement_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_JOB)
    monkeypatch.setattr(local_runtime, "MODEL_POD_DIR", package.parent)
    # The connections and the bucket Variable the contract environment is built from.
    writer_url = "postgresql://writer:pw-writer@db:5432/warehouse"  # pragma: allowlist secret
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", writer_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_S3_MARKETS",
        '{"conn_type": "aws", "login": "AKEXAMPLE", "password": "example-s3", '  # pragma: allowlist secret
        '"extra": {"endpoint_url": "http://s3:8333", "region_name": "us-east-1"}}',
    )
    # The scoring job produces as its own Kafka user, not as the pipelines' (kafka_markets).
    monkeypatch.setenv(
        "AIRFLOW_CONN_KAFKA_SCORING",
        '{"conn_type": "kafka", "extra": {"bootstrap.servers": "k:9092", "sasl.username": "scoring"}}',
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_KAFKA_MARKETS", '{"conn_type": "kafka", "extra": {"bootstrap.servers": "other:9092"}}'
    )
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_TRACKING", '{"conn_type": "http", "host": "http://mlflow:5000"}')
    monkeypatch.setenv("AIRFLOW_VAR_S3_BUCKET", "markets-ops")
    monkeypatch.setenv("SOMETHING_SECRET_OF_THE_WORKER", "must-not-leak")
    return package


def run(arguments: list[str]) -> tuple[RecordingLog, Exception | None]:
    operator = local_runtime.LocalJobOperator(task_id="score_shard", job="score", arguments=arguments)
    log = RecordingLog()
    error = None
    with mock.patch.object(type(operator), "log", new_callable=mock.PropertyMock, return_value=log):
        try:
            operator.execute({})
        except Exception as raised:  # noqa: BLE001  (the test inspects what was raised)
            error = raised
    return log, error


def test_output_is_streamed_line_by_line_while_the_job_runs(fake_model_package: Path) -> None:
    log, error = run(["--business-date", "2026-11-20", "0"])
    assert error is None
    first = next(t for t, line in log.lines if line == "first line")
    later = next(t for t, line in log.lines if line.startswith("args "))
    # "first line" reached the log well before the job's later output: streamed, not buffered.
    assert later - first >= 1.0


def test_the_job_gets_its_arguments_and_only_the_contract_environment(fake_model_package: Path) -> None:
    log, error = run(["--business-date", "2026-11-20", "0"])
    assert error is None
    assert 'args ["score", "--business-date", "2026-11-20", "0"]' in log.text()
    env_line = next(line for _, line in log.lines if line.startswith("env "))
    names = set(json.loads(env_line[4:]))
    assert names >= {
        "DATABASE_URL",
        "S3_BUCKET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "S3_ENDPOINT_URL",
        "MLFLOW_TRACKING_URI",
        "KAFKA_BOOTSTRAP_SERVERS",
        "WORK_DIR",
        "TMPDIR",
    }
    assert not any(name.startswith("AIRFLOW") for name in names)
    assert "SOMETHING_SECRET_OF_THE_WORKER" not in names


def test_the_scoring_job_produces_as_its_own_kafka_user(fake_model_package: Path, tmp_path: Path) -> None:
    """Its topic is the only one the scoring user may write: not the pipelines' kafka_markets."""
    env = local_runtime.contract_environment("score", tmp_path, "/usr/bin/python3")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "k:9092"
    assert json.loads(env["KAFKA_CONFIG_JSON"]) == {"sasl.username": "scoring"}


def test_a_failing_job_fails_the_task_so_it_is_retried(fake_model_package: Path) -> None:
    _, error = run(["1"])
    assert isinstance(error, AirflowException)
    assert cause_of(error) is Cause.UNKNOWN  # retried as any unknown failure
    assert "exited with code 1" in str(error)


@pytest.mark.parametrize(("code", "meaning"), [("2", "contract error"), ("3", "refused")])
def test_a_refused_or_misconfigured_job_fails_without_retries(
    fake_model_package: Path, code: str, meaning: str
) -> None:
    _, error = run([code])
    assert isinstance(error, JobContractError)
    assert cause_of(error) is Cause.BAD_INPUT  # the retry policy fails it at once
    assert meaning in str(error)


def test_the_training_jobs_get_the_read_only_database_role(
    fake_model_package: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reader_url = "postgresql://reader:pw-reader@db:5432/warehouse"  # pragma: allowlist secret
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_REPORTING", reader_url)
    env = local_runtime.contract_environment("build-training-set", tmp_path, "/usr/bin/python3")
    assert env["DATABASE_URL"].startswith("postgresql://reader:")
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env
    assert "DATABASE_URL" not in local_runtime.contract_environment(
        "train", tmp_path / "t", "/usr/bin/python3"
    )


def test_arguments_are_a_template_field_like_the_pod_operators() -> None:
    assert local_runtime.LocalJobOperator.template_fields == ("arguments",)


def test_the_jobs_get_the_mlflow_user_of_the_connection(
    fake_model_package: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = local_runtime.contract_environment("train", tmp_path, "/usr/bin/python3")
    assert "MLFLOW_TRACKING_USERNAME" not in env  # a connection without a login: no authentication
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_TRACKING",
        '{"conn_type": "http", "host": "http://mlflow:5000", "login": "pipelines", '
        '"password": "writer-password-123"}',  # pragma: allowlist secret
    )
    env = local_runtime.contract_environment("train", tmp_path, "/usr/bin/python3")
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert env["MLFLOW_TRACKING_USERNAME"] == "pipelines"
    assert env["MLFLOW_TRACKING_PASSWORD"] == "writer-password-123"  # pragma: allowlist secret


# --- lineage: the job's own OpenLineage run is a child of this task's ----------------------------

LINEAGE_TRANSPORT = {
    "transport": {"type": "kafka", "topic": "openlineage.events", "config": {"bootstrap.servers": "k:1"}}
}
LINEAGE_VARIABLES = {"OPENLINEAGE_CLIENT_CONFIG_JSON", "OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID"}


def _task_instance() -> Any:
    """What the provider's macros read of the running task instance and its DAG run."""
    dag_run = SimpleNamespace(
        logical_date=dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC), run_after=None, clear_number=0, conf={}
    )
    return SimpleNamespace(
        dag_id="settlement_risk_scoring",
        task_id="score_shard",
        try_number=1,
        map_index=0,
        dag_run=dag_run,
        get_template_context=lambda: {"dag_run": dag_run},
    )


@pytest.fixture
def lineage_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = {"conn_type": "generic", "extra": LINEAGE_TRANSPORT}
    monkeypatch.setenv("AIRFLOW_CONN_OPENLINEAGE", json.dumps(connection))
    monkeypatch.setattr(local_runtime.lineage, "enabled", lambda: True)  # the provider's switch


def test_with_lineage_switched_off_the_job_gets_no_lineage_variable(
    lineage_connection: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_runtime.lineage, "enabled", lambda: False)  # LINEAGE=off make up
    assert local_runtime.lineage_environment(_task_instance()) == {}


def test_with_the_lineage_connection_the_job_gets_its_transport_and_parents(lineage_connection: None) -> None:
    from settlement_model.lineage import RunReference

    env = local_runtime.lineage_environment(_task_instance())
    assert set(env) == LINEAGE_VARIABLES
    assert json.loads(env["OPENLINEAGE_CLIENT_CONFIG_JSON"]) == LINEAGE_TRANSPORT
    # The provider's own macros, in the format the job parses.
    parent = RunReference.parse(env["OPENLINEAGE_PARENT_ID"])
    assert parent.name == "settlement_risk_scoring.score_shard"
    assert RunReference.parse(env["OPENLINEAGE_ROOT_PARENT_ID"]).name == "settlement_risk_scoring"


def test_the_lineage_variables_reach_the_job_process(
    fake_model_package: Path, lineage_connection: None
) -> None:
    operator = local_runtime.LocalJobOperator(task_id="score_shard", job="score", arguments=["0"])
    log = RecordingLog()
    with mock.patch.object(type(operator), "log", new_callable=mock.PropertyMock, return_value=log):
        operator.execute({"ti": _task_instance()})
    env_line = next(line for _, line in log.lines if line.startswith("env "))
    assert set(json.loads(env_line[4:])) >= LINEAGE_VARIABLES


def test_without_the_lineage_connection_the_job_gets_no_lineage_variable(
    fake_model_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_OPENLINEAGE", raising=False)
    monkeypatch.setattr(local_runtime.lineage, "enabled", lambda: True)
    assert local_runtime.lineage_environment(_task_instance()) == {}
    log, error = run(["0"])
    assert error is None
    env_line = next(line for _, line in log.lines if line.startswith("env "))
    assert not LINEAGE_VARIABLES & set(json.loads(env_line[4:]))


def test_a_parent_that_cannot_be_worked_out_is_left_out_without_failing_the_task(
    lineage_connection: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(task_instance: object) -> str:
        raise RuntimeError("the DAG run is not readable")

    monkeypatch.setattr("airflow.providers.openlineage.plugins.macros.lineage_parent_id", unavailable)
    env = local_runtime.lineage_environment(_task_instance())
    assert set(env) == {"OPENLINEAGE_CLIENT_CONFIG_JSON"}  # the job's run is then a root run
    # No task instance at all (a test's execute({})): the same.
    assert set(local_runtime.lineage_environment(None)) == {"OPENLINEAGE_CLIENT_CONFIG_JSON"}
