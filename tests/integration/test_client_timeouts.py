"""A hung service fails the product's calls within one try's budget, with the service named.

Each test stops one service of the local stack with SIGSTOP (devstack.process.paused: it still
accepts TCP connections, as a hung service does, but never answers), makes the calls the
product makes of it from both sides (the Airflow side's services, the model jobs' package) at
once, and continues it (SIGCONT, always). Every call must fail within TRY_BUDGET_SECONDS with
an error that names the service; once continued, the service answers the same client again.
The measured times are printed (pytest -s) and in docs/operations.md.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from settlement_model import messaging, registry, registry_http, storage, timeouts, warehouse
from settlement_model.contract import JobEnvironment

from devstack.process import paused, recorded_pid
from devstack.stack_env import kafka_client_of
from include.markets_ops.airflow import connections
from include.markets_ops.airflow.retries import Cause, cause_of
from include.markets_ops.services import kafka, model_registry
from include.markets_ops.services.topics import STACK_CHECKS
from tests.support.faults import Outcome, timed

BUDGET = timeouts.TRY_BUDGET_SECONDS
# Bounds each test: the calls run together, then the service gets time to come back.
pytestmark = pytest.mark.timeout(BUDGET + 150)


def while_paused(pid: int, calls: dict[str, Callable[[], Any]]) -> dict[str, Outcome]:
    """Run ``calls`` concurrently while the process group ``pid`` is stopped; their outcomes.
    The service is continued before waiting for any straggler (so none hangs the test)."""
    with ThreadPoolExecutor(len(calls)) as pool, paused(pid):
        futures = {name: pool.submit(timed, call) for name, call in calls.items()}
        deadline = time.monotonic() + BUDGET + 15
        outcomes = {}
        for name, future in futures.items():
            try:
                outcomes[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                outcomes[name] = Outcome(float("inf"), None)
    for name, outcome in outcomes.items():
        print(f"  {name}: {outcome.seconds:.1f} s: {type(outcome.error).__name__}: {outcome.error}")
    return outcomes


def assert_failed_naming(outcome: Outcome, error_type: type[BaseException], named: str) -> None:
    assert outcome.seconds <= BUDGET, f"took {outcome.seconds:.1f} s"
    assert isinstance(outcome.error, error_type), repr(outcome.error)
    assert named in str(outcome.error)
    # Never taken for bad input: the DAGs' retry policy retries it (airflow/retries.py).
    assert cause_of(outcome.error) is not Cause.BAD_INPUT


def service_pid(name: str) -> int:
    pid = recorded_pid(name)
    assert pid is not None, f"{name} is not running: start the stack with `make up`"
    return pid


@pytest.fixture
def job_env(stack: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobEnvironment:
    """The model jobs' environment on this stack (their S3 keys come from the AWS variables)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, stack[name])
    return JobEnvironment(
        database_url=stack["POSTGRES_URL"],
        s3_bucket=stack["S3_BUCKET"],
        s3_endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_region=stack["AWS_DEFAULT_REGION"],
        mlflow_tracking_uri=stack["MLFLOW_TRACKING_URI"],
        kafka_config=kafka_client_of(stack, "pipelines"),
        work_dir=tmp_path,
    )


@pytest.fixture
def check_key() -> str:
    return f"timeout-checks/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_object(stack: dict[str, str], check_key: str, tmp_path: Path) -> Iterator[str]:
    """An object written before the pause, for the reads; removed afterwards."""
    key = f"{check_key}/existing.json"
    connections.s3_client().put_object(Bucket=stack["S3_BUCKET"], Key=key, Body=b'{"ok":true}')
    yield key
    client = connections.s3_client()
    for suffix in ("existing.json", "airflow.json", "job.json"):
        client.delete_object(Bucket=stack["S3_BUCKET"], Key=f"{check_key}/{suffix}")


def test_a_paused_s3_fails_uploads_and_downloads_naming_s3(
    stack: dict[str, str], job_env: JobEnvironment, s3_object: str, check_key: str, tmp_path: Path
) -> None:
    bucket = stack["S3_BUCKET"]
    upload = tmp_path / "upload.json"
    upload.write_text('{"ok":true}')

    def read_existing() -> bytes:
        body: bytes = connections.s3_client().get_object(Bucket=bucket, Key=s3_object)["Body"].read()
        return body

    outcomes = while_paused(
        service_pid("s3"),
        {
            "airflow put_object": lambda: connections.s3_client().put_object(
                Bucket=bucket, Key=f"{check_key}/airflow.json", Body=b"{}"
            ),
            "airflow get_object": read_existing,
            "job upload": lambda: storage.upload(
                job_env, upload, f"{check_key}/job.json", 1, "application/json"
            ),
            # s3transfer retries a download 5 times on a timeout: the named error stops that.
            "job download": lambda: storage.download(job_env, s3_object, tmp_path / "download.json"),
        },
    )

    for outcome in outcomes.values():
        assert_failed_naming(outcome, timeouts.S3UnavailableError, f"S3 at {stack['S3_ENDPOINT_URL']}")
    body = connections.s3_client().get_object(Bucket=bucket, Key=s3_object)["Body"].read()
    assert json.loads(body) == {"ok": True}  # continued, the same client answers


def test_a_paused_broker_fails_the_producers_flush_naming_kafka_and_the_topic(
    stack: dict[str, str], job_env: JobEnvironment, check_key: str
) -> None:
    def job_publish() -> None:
        publisher = messaging.ReliablePublisher(job_env.kafka_config, STACK_CHECKS.name)
        publisher.send(f"{check_key}/job", {"run_id": check_key})
        publisher.close()

    outcomes = while_paused(
        service_pid("kafka"),
        {
            "airflow publish": lambda: kafka.publish(
                connections.kafka_config(),
                STACK_CHECKS.name,
                [(f"{check_key}/airflow", {"run_id": check_key})],
            ),
            "job publish + flush": job_publish,
        },
    )

    assert_failed_naming(
        outcomes["airflow publish"], kafka.DeliveryError, f"Kafka delivery to {STACK_CHECKS.name}"
    )
    assert_failed_naming(
        outcomes["job publish + flush"], messaging.DeliveryError, f"Kafka delivery to {STACK_CHECKS.name}"
    )
    assert "Message timed out" in str(outcomes["airflow publish"].error)  # reported, not abandoned
    key = f"{check_key}/after"
    assert kafka.publish(connections.kafka_config(), STACK_CHECKS.name, [(key, {"run_id": check_key})]) == 1


def test_a_paused_mlflow_fails_registry_lookups_naming_mlflow(
    stack: dict[str, str], job_env: JobEnvironment
) -> None:
    from mlflow.exceptions import MlflowException

    uri = stack["MLFLOW_TRACKING_URI"]
    name = model_registry.MODEL_NAME
    outcomes = while_paused(
        service_pid("mlflow"),
        {
            "airflow champion lookup": lambda: model_registry.alias_version(
                connections.mlflow_client(), model_registry.CHAMPION
            ),
            "job resolve (MLflow client)": lambda: registry.resolve(
                registry.client(uri), name, alias=registry.CHAMPION
            ),
            "job resolve (REST)": lambda: registry.resolve_over_http(
                registry_http.Registry(uri), name, alias=registry.CHAMPION
            ),
        },
    )

    assert_failed_naming(outcomes["airflow champion lookup"], MlflowException, f"{uri}/api/2.0/mlflow/")
    assert_failed_naming(outcomes["job resolve (MLflow client)"], MlflowException, f"{uri}/api/2.0/mlflow/")
    assert_failed_naming(outcomes["job resolve (REST)"], RuntimeError, f"MLflow at {uri} failed 3 times")
    # An outage is never read as "no champion": a lookup afterwards gets an answer.
    model_registry.alias_version(connections.mlflow_client(), model_registry.CHAMPION)


def test_a_paused_postgres_fails_new_connections_naming_the_server(
    stack: dict[str, str], job_env: JobEnvironment
) -> None:
    import psycopg

    from devstack import postgres as devstack_postgres

    # devstack.postgres finds the cluster by the port (its socket is named after it).
    pid = devstack_postgres.server_pid()
    assert pid is not None, "postgres is not running: start the stack with `make up`"

    def job_connect() -> None:
        with warehouse.connect(job_env.database_url):
            pass

    outcomes = while_paused(
        pid,
        {
            "airflow connect": lambda: connections.connect_postgres().close(),
            "job connect (ADBC)": job_connect,
        },
    )

    host, port = stack["POSTGRES_HOST"], stack["POSTGRES_PORT"]
    assert_failed_naming(
        outcomes["airflow connect"], psycopg.OperationalError, f"PostgreSQL at {host}:{port}/"
    )
    assert outcomes["airflow connect"].seconds <= timeouts.POSTGRES_CONNECT_TIMEOUT_SECONDS + 5
    assert_failed_naming(outcomes["job connect (ADBC)"], Exception, "timeout expired")
    assert f'"{host}", port {port}' in str(outcomes["job connect (ADBC)"].error)
    with connections.connect_postgres() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_session_whose_sql_sets_no_statement_timeout_is_still_bounded(stack: dict[str, str]) -> None:
    """The default statement_timeout is in force on the real server from a session's first
    statement: the Airflow side's psycopg sessions, the bulk seeder's and the jobs' ADBC ones;
    a session's own options keep theirs."""
    from include.markets_ops.alerting import runner
    from include.markets_ops.synthetic import bulk

    default = timeouts.POSTGRES_STATEMENT_TIMEOUT
    query = "SELECT current_setting('statement_timeout')"
    with connections.connect_postgres() as conn:
        assert conn.execute(query).fetchone() == (default,)
    with connections.connect_postgres(**runner.reporting_settings(statement_timeout_ms=4321)) as conn:
        assert conn.execute(query).fetchone() == ("4321ms",)
    with bulk.connect(stack["POSTGRES_URL"]) as seeding:
        cursor = seeding.cursor()
        try:
            cursor.execute(query)
            assert cursor.fetchone() == (default,)
        finally:
            cursor.close()
    with warehouse.connect(stack["POSTGRES_URL"]) as job:
        assert warehouse.fetch_all(job, query) == [(default,)]
