"""Airflow plugin: the Markets Operations dashboard, a FastAPI app in the api-server plus a link
in the UI's navigation that shows it inside Airflow.

The app reads through the `warehouse_reporting` connection (the read-only role) and requires
an authenticated Airflow user on every route (the UI's session cookie or a Bearer token).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/ops-dashboard"
REPORTING_CONN_ID = "warehouse_reporting"


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


def _create_app() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    from include.markets_ops.dashboard.app import create_app

    return create_app(connect=_reporting_connection, require_user=get_user)


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
