"""Airflow plugin: the Markets Operations dashboard, a FastAPI app in the api-server plus a link
in the UI's navigation that shows it inside Airflow.

The app reads through the `warehouse_reporting` connection (the read-only role) and requires
an authenticated Airflow user on every route (the UI's session cookie or a Bearer token), and
for each page, S3 prefix and topic the user's permission on the DAG that produces it, asked of
Airflow's auth manager (the mapping: include/markets_ops/dashboard/access.py; the question:
`authorize_with` below).
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


def authorize_with(manager: Any, user: Any, requirement: Any) -> bool:
    """Whether the auth manager grants ``user`` the ``requirement`` (an access.Requirement):
    reading a DAG's runs is ``GET`` with ``DagAccessEntity.RUN``, operating it ``PUT`` on the DAG
    (as Airflow's own routes ask: requires_access_dag in airflow.api_fastapi.core_api.security).
    A requirement on every DAG passes no details: the manager's "all DAGs" question."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    from include.markets_ops.dashboard.access import Reach

    details = DagDetails(id=requirement.dag_id) if requirement.dag_id else None
    if requirement.reach is Reach.OPERATE:
        return bool(manager.is_authorized_dag(method="PUT", details=details, user=user))
    return bool(
        manager.is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN, details=details, user=user)
    )


def _authorize(user: Any, requirement: Any) -> bool:
    from airflow.api_fastapi.app import get_auth_manager

    return authorize_with(get_auth_manager(), user, requirement)


def _create_app() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    from include.markets_ops.airflow import connections
    from include.markets_ops.dashboard.app import ArtifactSources, create_app

    return create_app(
        connect=_reporting_connection,
        require_user=get_user,
        authorize=_authorize,
        artifacts=ArtifactSources(
            s3_client=connections.s3_client,
            bucket=connections.s3_bucket,
            kafka_config=connections.kafka_reader_config,
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
