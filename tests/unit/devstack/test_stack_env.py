"""var/stack.env and the Airflow connections: MLflow's users handed to the right clients."""

from __future__ import annotations

import json

from devstack import stack_env
from devstack.config import Stack, StackSecrets, secret_names


def stack() -> Stack:
    names = secret_names()
    return Stack(StackSecrets({name: f"value-of-{name}" for name in names}))


def test_the_mlflow_connection_logs_in_as_the_pipelines_writer() -> None:
    connection = json.loads(stack_env.connection_env(stack())["AIRFLOW_CONN_MLFLOW_TRACKING"])
    assert connection["conn_type"] == "http"
    assert connection["host"].startswith("http://127.0.0.1:")
    assert (connection["login"], connection["password"]) == ("pipelines", "value-of-mlflow_writer_password")


def test_sourcing_the_stack_env_makes_mlflows_client_the_writer_and_names_the_other_users() -> None:
    values = stack_env.stack_values(stack())
    assert values["MLFLOW_TRACKING_USERNAME"] == "pipelines"
    assert values["MLFLOW_TRACKING_PASSWORD"] == "value-of-mlflow_writer_password"  # pragma: allowlist secret
    assert values["MLFLOW_READER_USERNAME"] == "reader"
    assert values["MLFLOW_READER_PASSWORD"] == "value-of-mlflow_reader_password"  # pragma: allowlist secret
    assert values["MLFLOW_ADMIN_USERNAME"] == "admin"


def test_the_kafka_connections_are_the_producers_and_the_dashboards_reader() -> None:
    connections = stack_env.connection_env(stack())
    producer = json.loads(connections["AIRFLOW_CONN_KAFKA_MARKETS"])["extra"]
    reader = json.loads(connections["AIRFLOW_CONN_KAFKA_MARKETS_READER"])["extra"]
    scoring = json.loads(connections["AIRFLOW_CONN_KAFKA_SCORING"])["extra"]
    for extra, user in ((producer, "pipelines"), (reader, "reader"), (scoring, "scoring")):
        assert extra["bootstrap.servers"] == stack().kafka_bootstrap
        assert extra["security.protocol"] == "SASL_PLAINTEXT"
        assert extra["sasl.mechanisms"] == "SCRAM-SHA-512"
        assert (extra["sasl.username"], extra["sasl.password"]) == (user, f"value-of-kafka_{user}_password")


def test_every_kafka_client_of_the_stack_env_matches_the_stacks_own() -> None:
    """Tests and benchmarks build their clients from var/stack.env: the same settings as
    devstack's, the admin on the broker's own listener."""
    values = stack_env.stack_values(stack())
    for user in ("pipelines", "scoring", "custodians", "reader", "admin"):
        assert stack_env.kafka_client_of(values, user) == stack().kafka_client(user)
    assert stack().kafka_client("admin")["sasl.mechanisms"] == "PLAIN"
    assert stack().kafka_client("admin")["bootstrap.servers"] != stack().kafka_bootstrap
    security = json.loads(values["KAFKA_CLIENT_SECURITY_JSON"])  # the scoring pods' Secret
    assert security == {k: v for k, v in stack().kafka_client("scoring").items() if k != "bootstrap.servers"}
