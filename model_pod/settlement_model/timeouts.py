"""How long every client waits for its service, declared once for both sides: the model jobs
(this package) and the Airflow side (include/markets_ops/services/, which imports this module
as it imports the job contract).

The rule: a hung service (a stopped process, a full disk, a partitioned network) fails one
call of the product within TRY_BUDGET_SECONDS, with the service named, so that a task's try
fails and Airflow's retries (include/markets_ops/airflow/defaults.py) take over. The clients'
own defaults are far longer: botocore waits 60 s per read over up to 5 attempts (and
s3transfer retries a download 5 times on top), librdkafka keeps a message 5 minutes, MLflow's
client waits 120 s per request over 8 attempts with a backoff of up to 2 minutes, libpq waits
for a connection forever. A paused S3 held a try 3 min 06 s, a paused broker 2 min 10 s.

Each value below is the longest a *healthy* service plausibly takes for one request, with a
margin; a service slower than that is treated as down. A bound is per call the product
makes (an upload, a flush, a registry lookup, a connection), retries included.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

TRY_BUDGET_SECONDS = 90  # the most a call of the product may wait for a hung service

# --- S3 (botocore) ------------------------------------------------------------------------------
# A TCP connection to an S3 endpoint opens in milliseconds; 5 s leaves room for two lost SYNs
# (retransmitted after 1 s and 3 s) on a busy host.
S3_CONNECT_TIMEOUT_SECONDS = 5
# The wait for each answer (and between two reads of a body): the slowest healthy request is
# the answer to a multipart chunk's PUT (8 MB, s3transfer's default), which the local
# SeaweedFS gives in well under a second and a loaded production store in a few.
S3_READ_TIMEOUT_SECONDS = 20
# Attempts in all (botocore's "standard" mode: the first and two retries, exponential backoff
# with jitter of at most 1 s then 2 s): a restarting gateway gets a second chance, and a hung one
# costs 3 x 20 s + 3 s of backoff, about 63 s.
S3_MAX_ATTEMPTS = 3

# --- Kafka (librdkafka, confluent-kafka) --------------------------------------------------------
# Every message is acknowledged (delivered or failed) within this, retries included
# (message.timeout.ms, alias delivery.timeout.ms; librdkafka's default is 5 minutes). A broker
# failover moves a partition's leader in seconds; 45 s covers it with a margin.
KAFKA_MESSAGE_TIMEOUT_MS = 45_000
# How long a broker has to acknowledge one produce request (acks=all: every in-sync replica
# has it); librdkafka's default is 30 s. Two such requests fit in one message timeout.
KAFKA_REQUEST_TIMEOUT_MS = 15_000
# Any other request (metadata, offsets, ApiVersion) and the connection's setup (TCP, then TLS
# and SASL where configured): a broker answers these in milliseconds; the defaults are 60 s
# and 30 s. A paused broker still accepts TCP connections (the kernel does), so without these a
# client waits on a connection that never answers.
KAFKA_SOCKET_TIMEOUT_MS = 10_000
KAFKA_CONNECTION_SETUP_TIMEOUT_MS = 10_000
# A producer's flush waits for the last delivery report: by the message timeout every message
# has one (acknowledged or timed out), so this only bounds a producer that stopped reporting.
KAFKA_FLUSH_TIMEOUT_SECONDS = KAFKA_MESSAGE_TIMEOUT_MS / 1000 + 5
# The product has no transactional producer (transactional.id is never set), so
# transaction.timeout.ms does not apply: idempotence (acks=all) is what keeps retries exact.

# --- MLflow (its REST client: MlflowClient, mlflow.* and the jobs' registry_http) ---------------
# One request: registry lookups answer in milliseconds; the slowest healthy one is an artifact
# upload through the server's proxy (a model of a few MB, which the server writes to S3).
MLFLOW_REQUEST_TIMEOUT_SECONDS = 20
# Retries after the first attempt, and the backoff factor (urllib3: no wait before the first
# retry, factor x 2 before the second, plus up to 1 s of jitter): a hung server costs
# 3 x 20 s + ~3 s, about 63 s. MLflow's own default (7 retries, factor 2) waits out a hosted
# service's rate limits for minutes; this project's server has none.
MLFLOW_REQUEST_MAX_RETRIES = 2
MLFLOW_BACKOFF_FACTOR_SECONDS = 1

# --- PostgreSQL (libpq: psycopg 3 on the Airflow side, ADBC in the jobs) -----------------------
# Opening a connection (TCP, TLS, authentication, the startup answer): milliseconds when the
# server is up; libpq waits forever by default (connect_timeout unset). What a connection does
# once open is bounded on the server by each transaction's statement_timeout (set where the
# SQL runs, sized to it). A server whose host or network goes away mid-query is detected by
# TCP: keepalive probes after 30 s idle (every 10 s, 3 unanswered: ~60 s) and data left
# unacknowledged for 60 s (tcp_user_timeout) break the connection. A server process that hangs
# on a live host is not detected client-side (its kernel still acknowledges).
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
# Every session's statement_timeout until its SQL sets one sized to it (set_config in the
# transaction, or the session's own options): no statement of a session that forgot to can wait
# on a lock or run for ever. The longest statements of a night (a bulk job's read or COPY at 1M
# trades a day, a seeding's) take minutes.
POSTGRES_STATEMENT_TIMEOUT = "30min"
POSTGRES_LIVENESS = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "60000",  # milliseconds
}


# --- The settings each client is made with -------------------------------------------------------
def s3_config(**more: Any) -> Any:
    """The botocore Config of every S3 client (``more``: other Config options, e.g. ``s3``)."""
    from botocore.config import Config

    return Config(
        connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
        read_timeout=S3_READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
        **more,
    )


class S3UnavailableError(RuntimeError):
    """S3 did not answer (no connection, or no answer within the timeouts), retries included.

    Not an OSError on purpose: s3transfer retries a download five more times on those."""


def name_s3_failures(s3_client: Any) -> Any:
    """``s3_client``, raising S3UnavailableError (with the endpoint, the operation and the
    bounds) when S3 cannot be reached or does not answer, instead of botocore's bare
    "Read timeout on endpoint URL"; answers of S3 (NoSuchKey, AccessDenied) are unchanged."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    endpoint = s3_client.meta.endpoint_url

    def raise_named(exception: BaseException | None = None, **kwargs: Any) -> None:
        if isinstance(exception, BotoConnectionError | HTTPClientError):
            operation = kwargs.get("event_name", "").rsplit(".", 1)[-1]
            raise S3UnavailableError(
                f"S3 at {endpoint} did not answer {operation} ({S3_MAX_ATTEMPTS} attempts, "
                f"{S3_CONNECT_TIMEOUT_SECONDS} s to connect, {S3_READ_TIMEOUT_SECONDS} s to answer): "
                f"{exception}"
            ) from exception

    s3_client.meta.events.register("after-call-error.s3", raise_named)
    return s3_client


def kafka_client_timeouts(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka settings of every Kafka client (producers and consumers), to go after
    ``config`` (the client's own settings): see _within_bounds."""
    return _within_bounds(
        {
            "socket.timeout.ms": KAFKA_SOCKET_TIMEOUT_MS,
            "socket.connection.setup.timeout.ms": KAFKA_CONNECTION_SETUP_TIMEOUT_MS,
        },
        config,
    )


def kafka_producer_timeouts(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka settings of every producer: the client's, plus the delivery bounds."""
    return {
        **kafka_client_timeouts(config),
        **_within_bounds(
            {"message.timeout.ms": KAFKA_MESSAGE_TIMEOUT_MS, "request.timeout.ms": KAFKA_REQUEST_TIMEOUT_MS},
            config,
        ),
    }


def _within_bounds(bounds: dict[str, int], config: Mapping[str, Any] | None) -> dict[str, int]:
    """Each bound, or the tighter value ``config`` already sets: no setting may lift a bound,
    but one may lower it (the events relay gives up sooner; a check against a broker that is
    not there need not wait 45 s)."""
    config = config or {}
    return {name: min(bound, int(config.get(name, bound))) for name, bound in bounds.items()}


MLFLOW_ENVIRONMENT = {
    # MLflow's client reads these from the environment on each request (mlflow.environment_variables).
    "MLFLOW_HTTP_REQUEST_TIMEOUT": str(MLFLOW_REQUEST_TIMEOUT_SECONDS),
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(MLFLOW_REQUEST_MAX_RETRIES),
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(MLFLOW_BACKOFF_FACTOR_SECONDS),
}


def apply_mlflow_timeouts() -> None:
    """Bound MLflow's client in this process. MLflow takes its timeouts from the environment
    only; they are set (not defaulted) so that a deployment cannot unknowingly restore the
    15-minute defaults. Each Airflow task and each job is a process of its own."""
    os.environ.update(MLFLOW_ENVIRONMENT)


def postgres_timeouts() -> dict[str, str]:
    """The libpq parameters every connection is opened with: connect_timeout and liveness."""
    return {"connect_timeout": str(POSTGRES_CONNECT_TIMEOUT_SECONDS), **POSTGRES_LIVENESS}


def postgres_options(options: str | None = None) -> str:
    """libpq ``options`` (server settings for the session, ``-c name=value``): ``options`` with
    the default statement_timeout added unless they set one."""
    if options and "statement_timeout" in options:
        return options
    default = f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT}"
    return f"{options} {default}" if options else default


def postgres_connect_timeout(requested: Any = None) -> str:
    """``connect_timeout`` in seconds: the requested one when it is tighter than the bound; a
    missing, zero or negative one (libpq: wait for ever) is the bound."""
    bound = POSTGRES_CONNECT_TIMEOUT_SECONDS
    seconds = int(requested) if requested is not None else bound
    return str(min(bound, seconds) if seconds > 0 else bound)


def with_postgres_timeouts(database_url: str) -> str:
    """A libpq URL with the parameters of postgres_timeouts() it does not set itself, and the
    default statement_timeout (postgres_options) when it sets no options (for ADBC, which takes
    only a URL)."""
    from urllib.parse import parse_qsl, quote, urlencode, urlsplit

    parts = urlsplit(database_url)
    given = {name for name, _ in parse_qsl(parts.query)}
    wanted = {**postgres_timeouts(), "options": postgres_options()}
    missing = {name: value for name, value in wanted.items() if name not in given}
    if not missing:
        return database_url
    separator = "&" if parts.query else ""
    # Spaces as %20: libpq decodes percent escapes in a URL, not "+".
    query = urlencode(missing, quote_via=quote)
    return parts._replace(query=f"{parts.query}{separator}{query}").geturl()
