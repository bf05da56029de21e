"""The Airflow connection ids the project uses, and how task code reaches each service.

Connections come from Airflow (its metadata database, environment variables or a secrets
backend); locally `make up` creates them from airflow_settings.yaml. Every lookup here
happens inside task code, never while a DAG file is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WAREHOUSE_CONN_ID = "warehouse_postgres"  # pipelines: the writer role
REPORTING_CONN_ID = "warehouse_reporting"  # reports, alerts, dashboard: the read-only role
UPSTREAM_CONN_ID = "upstream_simulator"  # the synthetic upstream systems: ground truth only
S3_CONN_ID = "s3_markets"
KAFKA_CONN_ID = "kafka_markets"
MLFLOW_CONN_ID = "mlflow_tracking"
S3_BUCKET_VARIABLE = "s3_bucket"


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None
    access_key: str | None
    secret_key: str | None
    region: str | None


def _connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def postgres_url(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """A libpq URL (postgresql://...) for psycopg 3, ADBC or psql."""
    from urllib.parse import quote

    conn = _connection(conn_id)
    password = quote(conn.password or "", safe="")
    return (
        f"postgresql://{quote(conn.login, safe='')}:{password}@{conn.host}:{conn.port or 5432}/{conn.schema}"
    )


def kafka_config(conn_id: str = KAFKA_CONN_ID) -> dict[str, Any]:
    """The confluent-kafka client configuration held in the connection's extra."""
    config = dict(_connection(conn_id).extra_dejson)
    if "bootstrap.servers" not in config:
        raise ValueError(f"Airflow connection {conn_id!r} has no 'bootstrap.servers' in its extra")
    return config


def s3_settings(conn_id: str = S3_CONN_ID) -> S3Settings:
    conn = _connection(conn_id)
    extra = conn.extra_dejson
    return S3Settings(
        endpoint_url=extra.get("endpoint_url"),
        access_key=conn.login,
        secret_key=conn.password,
        region=extra.get("region_name"),
    )


def s3_bucket() -> str:
    from airflow.sdk import Variable

    return str(Variable.get(S3_BUCKET_VARIABLE))


def mlflow_tracking_uri(conn_id: str = MLFLOW_CONN_ID) -> str:
    conn = _connection(conn_id)
    host = conn.host or ""
    if "://" not in host:
        host = f"http://{host}"
    return f"{host}:{conn.port}" if conn.port else host
