"""PostgreSQL: the warehouse's connection ids (one per role) and the one way to open a connection.

Every connection is a psycopg 3 connection opened by ``connect`` from a libpq URL: DAG tasks
and the dashboard through ``airflow/connections.py`` (the URL and the libpq settings of an Airflow
connection), the model jobs' ``DATABASE_URL`` from the same URL, the demo and the generator's
CLI from the local stack's URLs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from settlement_model import timeouts

WAREHOUSE_CONN_ID = "warehouse_postgres"  # pipelines: the writer role
REPORTING_CONN_ID = "warehouse_reporting"  # reports, alerts, dashboard: the read-only role
UPSTREAM_CONN_ID = "upstream_simulator"  # the synthetic upstream systems: ground truth only
OPS_EVENTS_CONN_ID = "ops_events_outbox"  # the Airflow callbacks: may only insert into events.outbox
# libpq settings an Airflow connection's extra may carry (airflow_settings.yaml sets
# application_name, so each role's sessions are told apart in pg_stat_activity).
CONNECTION_SETTINGS = ("application_name", "connect_timeout", "options", "sslmode", "sslrootcert")
DEFAULT_PORT = 5432


def url(connection: Any) -> str:
    """A libpq URL (postgresql://...) for psycopg 3, ADBC or psql, from an Airflow connection's
    host, port, login, password and schema (the database)."""
    password = quote(connection.password or "", safe="")
    login = quote(connection.login, safe="")
    port = connection.port or DEFAULT_PORT
    return f"postgresql://{login}:{password}@{connection.host}:{port}/{connection.schema}"


def settings(extra: dict[str, Any]) -> dict[str, Any]:
    """The libpq settings among an Airflow connection's extra (its other keys are not libpq's)."""
    return {name: value for name, value in extra.items() if name in CONNECTION_SETTINGS}


def connect(database_url: str, **connection_settings: Any) -> Any:
    """An open psycopg 3 connection (not in autocommit); ``connection_settings`` are libpq
    parameters (``application_name``, ``options``, ``connect_timeout``) or psycopg's own
    (``row_factory``). A server that does not answer fails it within ``connect_timeout``
    (settlement_model.timeouts, or a tighter one given), with an error naming the server; one
    whose host goes away later breaks it within about a minute (TCP keepalives,
    ``tcp_user_timeout``). Its statements are bounded by the default statement_timeout unless
    ``options`` set one or their transaction does (set_config)."""
    import psycopg

    settings = {
        **timeouts.postgres_timeouts(),
        **connection_settings,
        "connect_timeout": timeouts.postgres_connect_timeout(connection_settings.get("connect_timeout")),
        "options": timeouts.postgres_options(connection_settings.get("options")),
    }
    try:
        return psycopg.connect(database_url, **settings)
    except psycopg.OperationalError as error:
        # psycopg says "connection timeout expired" without saying where: the same error
        # class (callers catch it as before), named, without the password.
        raise type(error)(f"PostgreSQL at {_server_of(database_url)}: {error}") from error


def _server_of(database_url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(database_url)
    host, port = parts.get("host", "localhost"), parts.get("port", DEFAULT_PORT)
    return f"{host}:{port}/{parts.get('dbname', '')} as {parts.get('user', '')}"
