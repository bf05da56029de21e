"""Airflow plugin: the Markets Operations dashboard, a FastAPI app in the api-server plus a link
in the UI's navigation that shows it inside Airflow.

The app reads through the `warehouse_reporting` connection (the read-only role) and requires
an authenticated Airflow user on every route (the UI's session cookie or a Bearer token).
Its /s3 and /kafka pages are what the tasks' extra links open (include/markets_ops/airflow/links.py):
the objects under a pipeline prefix (with downloads) and a topic's latest messages of a date.
The extra links themselves need no registration here: Airflow 3.3 serves them from XCom.
Connections and clients are the DAG tasks' own (include/markets_ops/airflow/connections.py),
looked up on each request, never when the plugin is loaded.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from include.markets_ops.dashboard import URL_PREFIX


def _reporting_connection() -> Any:
    from include.markets_ops.airflow import connections
    from include.markets_ops.services import postgres

    return connections.connect_postgres(
        postgres.REPORTING_CONN_ID, application_name="ops-dashboard", connect_timeout=5
    )


def _create_app() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    from include.markets_ops.airflow import connections
    from include.markets_ops.dashboard.app import ArtifactSources, create_app

    return create_app(
        connect=_reporting_connection,
        require_user=get_user,
        artifacts=ArtifactSources(
            s3_client=connections.s3_client,
            bucket=connections.s3_bucket,
            kafka_config=connections.kafka_config,
        ),
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
