"""The Airflow connections and Variables behind each service, and the clients made from them.

Connections come from Airflow (its metadata database, environment variables or a secrets
backend); locally `make up` creates them from airflow_settings.yaml. Each function here looks
its connection up when it is called: inside task code, a deadline callback or a dashboard
request, never while a DAG file is parsed. The connection ids and the client factories are
the services' own (include/markets_ops/services/), so DAG tasks, the dashboard plugin and the
demo open the same clients.
"""

from __future__ import annotations

from typing import Any

from include.markets_ops.airflow import lineage
from include.markets_ops.services import kafka, model_registry, postgres, s3


def connection(conn_id: str) -> Any:
    """The Airflow connection (the Task SDK's lookup: a worker's, a triggerer's or the api-server's)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def postgres_url(conn_id: str = postgres.WAREHOUSE_CONN_ID) -> str:
    """The connection's libpq URL (the model jobs' ``DATABASE_URL``)."""
    return postgres.url(connection(conn_id))


def connect_postgres(conn_id: str = postgres.WAREHOUSE_CONN_ID, **connection_settings: Any) -> Any:
    """An open psycopg 3 connection as the connection's role, with the libpq settings of its
    extra (application_name) unless ``connection_settings`` override them."""
    conn = connection(conn_id)
    settings = {**postgres.settings(conn.extra_dejson), **connection_settings}
    connected = postgres.connect(postgres.url(conn), **settings)
    # In a task, its statements report their tables (airflow/lineage.py).
    return lineage.track_statements(connected) if lineage.collecting() else connected


def s3_settings(conn_id: str = s3.S3_CONN_ID) -> s3.S3Settings:
    return s3.S3Settings.from_connection(connection(conn_id))


def s3_client(conn_id: str = s3.S3_CONN_ID) -> Any:
    """A client as the connection's identity; in a task, the objects it gets and puts are the
    task's lineage (airflow/lineage.py)."""
    client = s3.client(s3_settings(conn_id))
    return lineage.track_s3(client) if lineage.collecting() else client


def s3_bucket() -> str:
    """The pipelines' bucket (the ``s3_bucket`` Variable)."""
    from airflow.sdk import Variable

    return str(Variable.get(s3.BUCKET_VARIABLE))


def kafka_config(conn_id: str = kafka.KAFKA_CONN_ID) -> dict[str, Any]:
    """The confluent-kafka client configuration held in the connection's extra."""
    return kafka.config_of(connection(conn_id))


def kafka_reader_config() -> dict[str, Any]:
    """The read-only identity's configuration (the dashboard's topic pages)."""
    return kafka_config(kafka.KAFKA_READER_CONN_ID)


def mlflow_tracking_uri(conn_id: str = model_registry.MLFLOW_CONN_ID) -> str:
    return model_registry.tracking_uri_of(connection(conn_id))


def mlflow_credentials(conn_id: str = model_registry.MLFLOW_CONN_ID) -> model_registry.Credentials | None:
    """The MLflow user of the connection (its login and password), if it has one."""
    return model_registry.credentials_of(connection(conn_id))


def mlflow_client(conn_id: str = model_registry.MLFLOW_CONN_ID) -> Any:
    """A client authenticated as the connection's user (the pipelines' writer locally)."""
    conn = connection(conn_id)
    return model_registry.client(model_registry.tracking_uri_of(conn), model_registry.credentials_of(conn))
