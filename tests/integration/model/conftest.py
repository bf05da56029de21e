"""Fixtures of the model tests against the real stack: hand-made rows, a model name and a Kafka
topic of their own, and the job environment the pods would get."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from settlement_model import registry, training_set
from settlement_model.contract import JobEnvironment

from devstack import kafka
from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import Topic
from tests.integration.model.scoring_runs import Setup
from tests.integration.pipeline_stack import s3_client
from tests.support import settlement_fixture
from tests.support.model_stack import TRAINING_DATE, WINDOWS, job_environment, train


@pytest.fixture(scope="session")
def fixture_data(stack: dict[str, str]) -> Iterator[settlement_fixture.Fixture]:
    data = settlement_fixture.build()
    settlement_fixture.load(stack["POSTGRES_URL"], data)
    yield data
    settlement_fixture.remove(stack["POSTGRES_URL"])


@pytest.fixture(scope="session")
def aws_credentials(stack: dict[str, str]) -> None:
    """The standard AWS variables, as the pods get them (boto3 reads them itself)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        os.environ[name] = stack[name]


@pytest.fixture(scope="module")
def model_name(stack: dict[str, str]) -> Iterator[str]:
    """A registered model of the test module's own: its aliases are nobody else's. Removed
    afterwards with its audit rows."""
    import psycopg
    from mlflow.exceptions import MlflowException

    name = f"settlement_fail_risk_test_{uuid.uuid4().hex[:10]}"
    yield name
    try:
        registry.client(stack["MLFLOW_TRACKING_URI"]).delete_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    with psycopg.connect(stack["POSTGRES_URL"]) as conn:
        conn.execute("DELETE FROM ml.model_promotions WHERE model_name = %s", (name,))
        conn.execute("DELETE FROM ml.shadow_comparisons WHERE model_name = %s", (name,))


@pytest.fixture(scope="module")
def reader_env(
    stack: dict[str, str], aws_credentials: None, tmp_path_factory: pytest.TempPathFactory, model_name: str
) -> JobEnvironment:
    return job_environment(
        stack, tmp_path_factory.mktemp("reader"), model_name, stack["REPORTING_READER_URL"]
    )


@pytest.fixture(scope="module")
def writer_env(
    stack: dict[str, str], aws_credentials: None, tmp_path_factory: pytest.TempPathFactory, model_name: str
) -> JobEnvironment:
    return job_environment(stack, tmp_path_factory.mktemp("writer"), model_name, stack["POSTGRES_URL"])


@pytest.fixture(scope="module")
def snapshot(fixture_data: settlement_fixture.Fixture, reader_env: JobEnvironment) -> dict[str, Any]:
    """The training snapshot of TRAINING_DATE, built by the real job from the fixture rows."""
    return training_set.build(reader_env, TRAINING_DATE, airflow_run_id="pytest", **WINDOWS)


@pytest.fixture(scope="module")
def mlflow_client(stack: dict[str, str]) -> Any:
    return registry.client(stack["MLFLOW_TRACKING_URI"])


@pytest.fixture(scope="module")
def kafka_topic(stack: dict[str, str]) -> Iterator[str]:
    """A topic of the test module's own (the broker does not auto-create topics)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"test.settlement-risk.high.{uuid.uuid4().hex[:10]}"
    admin = AdminClient(kafka_client_of(stack, "admin"))
    for future in admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)]).values():
        future.result(timeout=30)
    # The same rights as the high-risk topic's: the scoring job writes it, the reader reads it.
    kafka.ensure_acls(
        admin, [Topic(name, 3, "a test module's high-risk topic")], writers=(kafka.SCORING_USER,)
    )
    yield name
    admin.delete_topics([name])


@pytest.fixture(scope="module")
def champion(snapshot: dict, reader_env: Any, mlflow_client: Any, model_name: str) -> str:
    version = train(reader_env)
    mlflow_client.set_registered_model_alias(model_name, registry.CHAMPION, version)
    return version


@pytest.fixture(scope="module")
def s3(stack: dict[str, str]) -> Any:
    return s3_client(stack)


@pytest.fixture(scope="module")
def setup(request: pytest.FixtureRequest, champion: str, model_name: str, kafka_topic: str) -> Setup:
    value = request.getfixturevalue
    return Setup(value("stack"), value("writer_env"), value("s3"), champion, model_name, kafka_topic)
