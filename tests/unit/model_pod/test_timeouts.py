"""Every client's bounds, and what a call costs at worst when its service hangs: within the
budget of one try (90 s)."""

from __future__ import annotations

import os

import pytest
from settlement_model import timeouts


def test_a_hung_service_costs_each_call_less_than_the_budget() -> None:
    # botocore standard mode: each attempt connects and waits for an answer; backoff before
    # retry n (1-based) is at most 2**(n-1) s.
    s3_worst = timeouts.S3_MAX_ATTEMPTS * (
        timeouts.S3_CONNECT_TIMEOUT_SECONDS + timeouts.S3_READ_TIMEOUT_SECONDS
    ) + sum(2 ** (n - 1) for n in range(1, timeouts.S3_MAX_ATTEMPTS))
    # urllib3: no wait before the first retry, factor * 2**(n-1) (+1 s jitter) before the others.
    mlflow_attempts = 1 + timeouts.MLFLOW_REQUEST_MAX_RETRIES
    mlflow_worst = mlflow_attempts * timeouts.MLFLOW_REQUEST_TIMEOUT_SECONDS + sum(
        timeouts.MLFLOW_BACKOFF_FACTOR_SECONDS * 2 ** (n - 1) + 1 for n in range(2, mlflow_attempts)
    )
    kafka_worst = timeouts.KAFKA_FLUSH_TIMEOUT_SECONDS
    for worst in (s3_worst, mlflow_worst, kafka_worst, timeouts.POSTGRES_CONNECT_TIMEOUT_SECONDS):
        assert worst <= timeouts.TRY_BUDGET_SECONDS
    # Delivery reports come before the flush gives up, so a failure names its messages.
    assert timeouts.KAFKA_FLUSH_TIMEOUT_SECONDS * 1000 > timeouts.KAFKA_MESSAGE_TIMEOUT_MS
    # A produce request may time out and be retried once within a message's timeout.
    assert 2 * timeouts.KAFKA_REQUEST_TIMEOUT_MS <= timeouts.KAFKA_MESSAGE_TIMEOUT_MS


def test_the_s3_config_bounds_connections_answers_and_attempts() -> None:
    config = timeouts.s3_config(s3={"addressing_style": "path"})
    assert config.connect_timeout == timeouts.S3_CONNECT_TIMEOUT_SECONDS
    assert config.read_timeout == timeouts.S3_READ_TIMEOUT_SECONDS
    assert config.retries == {"total_max_attempts": timeouts.S3_MAX_ATTEMPTS, "mode": "standard"}
    assert config.s3 == {"addressing_style": "path"}


def _client() -> object:
    import boto3

    return timeouts.name_s3_failures(
        boto3.client(
            "s3",
            endpoint_url="http://127.0.0.1:9",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # pragma: allowlist secret
            config=timeouts.s3_config(),
        )
    )


def test_s3_not_answering_is_named_with_its_endpoint_and_operation() -> None:
    from botocore.exceptions import ReadTimeoutError

    client = _client()
    hung = ReadTimeoutError(endpoint_url="http://127.0.0.1:9/bucket/key")
    with pytest.raises(timeouts.S3UnavailableError) as raised:
        client.meta.events.emit("after-call-error.s3.PutObject", exception=hung, context={})  # type: ignore[attr-defined]
    assert str(raised.value).startswith("S3 at http://127.0.0.1:9 did not answer PutObject (3 attempts")
    assert raised.value.__cause__ is hung
    # Not an OSError: s3transfer would retry a download five more times on one.
    assert not isinstance(raised.value, OSError)


def test_an_answer_of_s3_is_left_as_it_is() -> None:
    from botocore.exceptions import ClientError

    client = _client()
    missing = ClientError({"Error": {"Code": "NoSuchKey", "Message": "no"}}, "GetObject")
    # The handler lets it through: botocore then raises the original.
    client.meta.events.emit("after-call-error.s3.GetObject", exception=missing, context={})  # type: ignore[attr-defined]


def test_a_refused_connection_fails_the_call_with_s3_named() -> None:
    """A real call to a port nothing listens on: refused at once, retried, then named."""
    client = _client()
    with pytest.raises(
        timeouts.S3UnavailableError, match=r"S3 at http://127.0.0.1:9 did not answer HeadBucket"
    ):
        client.head_bucket(Bucket="bucket")  # type: ignore[attr-defined]


def test_kafka_producers_and_consumers_get_librdkafkas_own_setting_names() -> None:
    from confluent_kafka import Consumer, Producer

    producer_settings = timeouts.kafka_producer_timeouts()
    assert producer_settings == {
        "socket.timeout.ms": 10_000,
        "socket.connection.setup.timeout.ms": 10_000,
        "message.timeout.ms": 45_000,
        "request.timeout.ms": 15_000,
    }
    # librdkafka refuses a setting it does not know: these are its names.
    Producer({"bootstrap.servers": "127.0.0.1:9", **producer_settings}).flush(0)
    Consumer(
        {"bootstrap.servers": "127.0.0.1:9", "group.id": "x", **timeouts.kafka_client_timeouts()}
    ).close()


def test_a_client_may_tighten_a_kafka_bound_but_never_lift_it() -> None:
    settings = timeouts.kafka_producer_timeouts(
        {"message.timeout.ms": "15000", "socket.timeout.ms": 600_000, "bootstrap.servers": "b:9092"}
    )
    assert settings == {
        "socket.timeout.ms": 10_000,  # lifted in the client's settings: the bound
        "socket.connection.setup.timeout.ms": 10_000,
        "message.timeout.ms": 15_000,  # tightened (a connection extra's string): kept
        "request.timeout.ms": 15_000,
    }
    assert timeouts.kafka_client_timeouts({"socket.connection.setup.timeout.ms": 2_000}) == {
        "socket.timeout.ms": 10_000,
        "socket.connection.setup.timeout.ms": 2_000,
    }


def test_mlflow_timeouts_are_set_in_the_environment_mlflow_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    for name in timeouts.MLFLOW_ENVIRONMENT:
        monkeypatch.setenv(name, "999")  # a deployment's longer value does not survive
    timeouts.apply_mlflow_timeouts()
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 20
    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 2
    assert MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get() == 1
    assert {name: os.environ[name] for name in timeouts.MLFLOW_ENVIRONMENT} == timeouts.MLFLOW_ENVIRONMENT


LIVENESS = "keepalives=1&keepalives_idle=30&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=60000"
STATEMENT_TIMEOUT = "options=-c%20statement_timeout%3D30min"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://u:p@h:5432/db",
            f"postgresql://u:p@h:5432/db?connect_timeout=10&{LIVENESS}&{STATEMENT_TIMEOUT}",
        ),
        (
            "postgresql://u:p@h:5432/db?application_name=x",
            f"postgresql://u:p@h:5432/db?application_name=x&connect_timeout=10&{LIVENESS}&{STATEMENT_TIMEOUT}",
        ),
        (
            f"postgresql://u:p@h:5432/db?connect_timeout=3&{LIVENESS}&options=-c%20work_mem%3D8MB",
            f"postgresql://u:p@h:5432/db?connect_timeout=3&{LIVENESS}&options=-c%20work_mem%3D8MB",
        ),
    ],
)
def test_a_database_url_gets_the_timeouts_it_does_not_set_itself(url: str, expected: str) -> None:
    assert timeouts.with_postgres_timeouts(url) == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (None, "-c statement_timeout=30min"),
        ("", "-c statement_timeout=30min"),
        ("-c work_mem=8MB", "-c work_mem=8MB -c statement_timeout=30min"),
        ("-c statement_timeout=15s", "-c statement_timeout=15s"),  # the caller's own bound stays
    ],
)
def test_every_session_has_a_statement_timeout_unless_its_options_set_one(
    options: str | None, expected: str
) -> None:
    assert timeouts.postgres_options(options) == expected


@pytest.mark.parametrize(
    ("requested", "expected"), [(None, "10"), (3, "3"), ("30", "10"), (0, "10"), (-1, "10")]
)
def test_a_connect_timeout_may_be_tightened_never_lifted(requested: object, expected: str) -> None:
    assert timeouts.postgres_connect_timeout(requested) == expected
