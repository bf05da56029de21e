"""Retries by cause, declared once and applied to every task of every DAG (defaults.default_args).

Three causes, told apart by the exception a try fails with (or any exception it was raised from):

- bad input: a validation failure, a refused business date, a broken contract (the pod
  contract's exit codes 2 and 3), anything raising ``errors.BadInputError``. The task fails at
  once, on its first try: the same input fails the same way, and the operator should read the
  error now rather than 5 minutes from now.
- transient infrastructure: PostgreSQL, Kafka, S3 or the Kubernetes API unreachable, timed out
  or restarting. The task retries with the DAGs' exponential backoff (defaults.default_args:
  30 s, then 60 s, each with up to the same again as jitter).
- anything else: retried as before this policy (the task's ``retries``), since an unknown error
  may well be transient.

Matched by the qualified names of the exception's classes, so this module imports none of the
clients (confluent_kafka, botocore, kubernetes are heavy, and a DAG file must parse fast).
``AirflowFailException`` still fails a task at once: Airflow never asks the policy about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow.sdk import RetryDecision, RetryPolicy

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context


class Cause(StrEnum):
    BAD_INPUT = "bad input"
    TRANSIENT = "transient infrastructure"
    UNKNOWN = "unknown"


BAD_INPUT_ERRORS = frozenset({"include.markets_ops.errors.BadInputError"})

# The clients' own "could not reach or hear back from the service" errors, by qualified name.
TRANSIENT_ERRORS = frozenset(
    {
        # PostgreSQL: connection refused or lost, statement or lock timeout, server shutting down.
        "psycopg.OperationalError",
        "sqlalchemy.exc.OperationalError",
        # Kafka: the client's errors, and the project's own "not delivered in time".
        "cimpl.KafkaException",
        "confluent_kafka.KafkaException",
        "include.markets_ops.services.kafka.DeliveryError",
        "settlement_model.messaging.DeliveryError",
        # S3 (botocore): endpoint unreachable, connect or read timeout, connection closed.
        "botocore.exceptions.ConnectionError",
        "botocore.exceptions.HTTPClientError",
        "settlement_model.timeouts.S3UnavailableError",  # the model jobs' name for the same
        # HTTP services through requests (MLflow's REST client): refused or timed out.
        "requests.exceptions.ConnectionError",
        "requests.exceptions.Timeout",
        # The Kubernetes API (urllib3 under the kubernetes client): no answer, timeouts.
        "urllib3.exceptions.HTTPError",
        # The standard library's own, raised by sockets and by the clients' timeouts.
        "builtins.ConnectionError",
        "builtins.TimeoutError",
    }
)
# Kubernetes API answers that say "later": throttled, or the API server itself failing.
TRANSIENT_KUBERNETES_STATUSES = frozenset({429, 500, 502, 503, 504})
KUBERNETES_API_EXCEPTION = "kubernetes.client.exceptions.ApiException"


def _class_names(error: BaseException) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then what it was raised from (``raise ... from``), outermost first, each once.
    Not ``__context__``: an error raised while handling another is not caused by it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def _cause_of_one(error: BaseException) -> Cause | None:
    names = _class_names(error)
    if names & BAD_INPUT_ERRORS:
        return Cause.BAD_INPUT
    if names & TRANSIENT_ERRORS:
        return Cause.TRANSIENT
    if KUBERNETES_API_EXCEPTION in names and getattr(error, "status", None) in TRANSIENT_KUBERNETES_STATUSES:
        return Cause.TRANSIENT
    return None


def cause_of(error: BaseException) -> Cause:
    """The first cause found along the chain: a task that wraps a refused connection in its own
    message (``raise AirflowException(...) from error``) is still a transient failure."""
    for link in _chain(error):
        cause = _cause_of_one(link)
        if cause is not None:
            return cause
    return Cause.UNKNOWN


class RetryByCause(RetryPolicy):
    """The project's retry policy (Airflow 3.3's ``retry_policy``): evaluated in the worker, on
    the exception itself. The retry count and backoff stay the task's own (``retries``,
    ``retry_delay``, ``retry_exponential_backoff``); the policy only decides whether to use them.
    """

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Context | None = None,
    ) -> RetryDecision:
        cause = cause_of(exception)
        what = f"{cause}: {type(exception).__name__}"
        if cause is Cause.BAD_INPUT:
            return RetryDecision.fail(reason=f"{what}, a retry would fail the same way")
        if cause is Cause.TRANSIENT:
            return RetryDecision.retry(reason=f"{what}, retried with backoff after try {try_number}")
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        # The serialized DAG stores only that a policy is set; the worker parses the DAG file.
        return {"__type": type(self).__name__}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> RetryByCause:
        return cls()


RETRY_BY_CAUSE = RetryByCause()
