"""Airflow plugin: the Markets Operations dashboard, a FastAPI app in the api-server plus a link
in the UI's navigation that shows it inside Airflow.

The app reads through the `warehouse_reporting` connection (the read-only role) and requires
an authenticated Airflow user on every route (the UI's session cookie or a Bearer token).
Its /s3 and /kafka pages are what the tasks' extra links open (include/markets_ops/airflow/links.py):
the objects under a pipeline prefix (with downloads) and a topic's latest messages of a date.
The extra links themselves need no registration here: Airflow 3.3 serves them from XCom.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/ops-dashboard"
REPORTING_CONN_ID = "warehouse_reporting"
S3_CONN_ID = "s3_markets"
KAFKA_CONN_ID = "kafka_markets"
S3_BUCKET_VARIABLE = "s3_bucket"


def _reporting_connection() -> Any:
    import psycopg
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(REPORTING_CONN_ID)
    return psycopg.connect(
        host=conn.host,
        port=conn.port or 5432,
        dbname=conn.schema,
        user=conn.login,
        password=conn.password,
        application_name="ops-dashboard",
        connect_timeout=5,
    )


def _s3_client() -> Any:
    import boto3
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(S3_CONN_ID)
    extra = conn.extra_dejson
    return boto3.client(
        "s3",
        endpoint_url=extra.get("endpoint_url"),
        aws_access_key_id=conn.login,
        aws_secret_access_key=conn.password,
        region_name=extra.get("region_name"),
    )


def _s3_bucket() -> str:
    from airflow.models.variable import Variable

    return str(Variable.get(S3_BUCKET_VARIABLE))


def _kafka_config() -> dict[str, Any]:
    from airflow.models.connection import Connection

    return dict(Connection.get_connection_from_secrets(KAFKA_CONN_ID).extra_dejson)


def _create_app() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    from include.markets_ops.dashboard.app import ArtifactSources, create_app

    return create_app(
        connect=_reporting_connection,
        require_user=get_user,
        artifacts=ArtifactSources(s3_client=_s3_client, bucket=_s3_bucket, kafka_config=_kafka_config),
    )


class OpsDashboardPlugin(AirflowPlugin):
    name = "ops_dashboard"
    fastapi_apps = [{"app": _create_app(), "url_prefix": URL_PREFIX, "name": "Markets Operations dashboard"}]
    external_views = [
        {
            "name": "Operations dashboard",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "ops-dashboard",
        }
    ]
