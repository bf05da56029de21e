"""Each service of the local stack, reached through the client the DAGs use, and a DAG run
through Airflow's REST API."""

from __future__ import annotations

import uuid

import pytest

from include.markets_ops.airflow import connections
from include.markets_ops.checks import stack as stack_checks
from include.markets_ops.services import postgres


@pytest.fixture
def check_id() -> str:
    return f"pytest-{uuid.uuid4().hex[:12]}"


def test_warehouse_answers_as_the_writer_role(stack: dict[str, str]) -> None:
    seen = stack_checks.check_postgres(connections.connect_postgres(postgres.WAREHOUSE_CONN_ID))
    assert seen["user"] == "warehouse_writer"
    assert seen["database"] == "warehouse"
    assert seen["server_version"].startswith("15.")


def test_warehouse_answers_as_the_read_only_role(stack: dict[str, str]) -> None:
    assert (
        stack_checks.check_postgres(connections.connect_postgres(postgres.REPORTING_CONN_ID))["user"]
        == "reporting_reader"
    )


def test_s3_put_then_get(stack: dict[str, str], check_id: str) -> None:
    seen = stack_checks.check_s3(connections.s3_client(), stack["S3_BUCKET"], check_id)
    assert seen["object"] == f"s3://{stack['S3_BUCKET']}/stack-checks/{check_id}.json"


def test_s3_rejects_a_wrong_secret_key(stack: dict[str, str]) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key="not-the-secret",
        region_name=stack["AWS_DEFAULT_REGION"],
    )
    with pytest.raises(ClientError, match=r"SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId"):
        client.put_object(Bucket=stack["S3_BUCKET"], Key="should-not-exist", Body=b"x")


def test_kafka_produce_then_consume(stack: dict[str, str], check_id: str) -> None:
    seen = stack_checks.check_kafka(connections.kafka_config(), check_id)
    assert seen["topic"] == "ops.stack.checks"
    assert seen["value"] == {"run_id": check_id}


def test_mlflow_run_with_an_artifact_stored_in_s3(stack: dict[str, str], check_id: str) -> None:
    import boto3

    seen = stack_checks.check_mlflow(connections.mlflow_client(), check_id)
    assert seen["artifact_uri"].startswith("mlflow-artifacts:/")
    # The server proxies artifacts to the S3 bucket: the object is really there.
    s3 = boto3.client(
        "s3",
        endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
        region_name=stack["AWS_DEFAULT_REGION"],
    )
    key = f"mlflow-artifacts/{seen['experiment_id']}/{seen['run_id']}/artifacts/check.json"
    assert s3.head_object(Bucket=stack["S3_BUCKET"], Key=key)["ContentLength"] > 0


def test_stack_smoke_dag_runs_to_success_through_the_rest_api(airflow_api) -> None:
    airflow_api.wait_for_dag("stack_smoke")
    airflow_api.unpause("stack_smoke")
    run_id = airflow_api.trigger("stack_smoke", logical_date=None)
    run = airflow_api.wait_for_run("stack_smoke", run_id, timeout=300)
    assert run["state"] == "success", airflow_api.failed_tasks_summary("stack_smoke", run_id)
    states = {ti["task_id"]: ti["state"] for ti in airflow_api.task_instances("stack_smoke", run_id)}
    assert states == {
        "warehouse_as_writer": "success",
        "warehouse_as_reader": "success",
        "s3_round_trip": "success",
        "kafka_round_trip": "success",
        "mlflow_round_trip": "success",
    }


SEAWEED_INTERNAL_PORTS = (
    *("seaweed_master", "seaweed_volume", "seaweed_filer"),
    *("seaweed_master_grpc", "seaweed_volume_grpc", "seaweed_filer_grpc", "s3_grpc", "seaweed_admin_grpc"),
)


def test_seaweedfs_serves_no_one_but_through_s3(stack: dict[str, str]) -> None:
    """The anonymous create and delete under buckets/ that once worked through the filer's HTTP
    API is refused, and every internal port of SeaweedFS refuses a client without the checkout's
    certificate, whether it speaks plain HTTP or TLS."""
    import socket
    import ssl

    import requests

    from devstack.config import port

    key = "stack-checks/anonymous.txt"
    s3 = connections.s3_client()
    s3.put_object(Bucket=stack["S3_BUCKET"], Key=key, Body=b"written through S3")
    filer = f"http://127.0.0.1:{port('seaweed_filer')}/buckets/{stack['S3_BUCKET']}/{key}"
    answers = []
    for method, extra in (("POST", {"files": {"file": b"overwritten"}}), ("DELETE", {})):
        try:  # a TLS server answers plain HTTP with 400, or drops the connection (even mid-answer)
            answers.append(requests.request(method, filer, timeout=10, **extra).status_code)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            answers.append("dropped")
    assert set(answers) <= {400, "dropped"}
    assert s3.get_object(Bucket=stack["S3_BUCKET"], Key=key)["Body"].read() == b"written through S3"

    refused = {}
    no_client_certificate = ssl.create_default_context()
    no_client_certificate.check_hostname = False
    no_client_certificate.verify_mode = ssl.CERT_NONE
    for name in SEAWEED_INTERNAL_PORTS:
        with socket.create_connection(("127.0.0.1", port(name)), timeout=10) as raw:
            try:
                with no_client_certificate.wrap_socket(raw) as tls:
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    refused[name] = tls.recv(1024) == b""  # TLS 1.3: the refusal comes after the handshake
            except (ssl.SSLError, ConnectionResetError):
                refused[name] = True
    assert refused == dict.fromkeys(SEAWEED_INTERNAL_PORTS, True)


def test_seaweedfs_admin_port_serves_only_health_and_metrics() -> None:
    """`weed mini` always runs its admin server; with its UI off (devstack/s3.py) the plain HTTP
    port answers only /health and Prometheus' /metrics (counters, no object, key or setting), and
    nothing that reads or changes the cluster. Unauthenticated like any scrape endpoint."""
    import requests

    from devstack.config import port

    admin = f"http://127.0.0.1:{port('seaweed_admin')}"
    assert requests.get(f"{admin}/health", timeout=10).status_code == 200
    metrics = requests.get(f"{admin}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert metrics.text.startswith("# HELP")
    for method, path in (
        ("GET", "/"),
        ("GET", "/api/cluster/topology"),
        ("GET", "/api/s3/buckets"),
        ("POST", "/api/s3/buckets"),
        ("DELETE", "/api/s3/buckets/markets-ops"),
        ("GET", "/login"),
    ):
        assert requests.request(method, f"{admin}{path}", timeout=10).status_code in {404, 405}, path
