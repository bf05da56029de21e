"""Retries by cause, declared once and applied to every task of every DAG (defaults.default_args).

Three causes, told apart by the exception a try fails with (or any exception it was raised from):

- bad input: a validation failure, a refused business date, a broken contract (the pod
  contract's exit codes 2 and 3), anything raising ``errors.BadInputError``. The task fails at
  once, on its first try: the same input fails the same way, and the operator should read the
  error now rather than 5 minutes from now.
- transient infrastructure: PostgreSQL, Kafka, S3 or the Kubernetes API unreachable, timed out
  or restarting. The task retries with the DAGs' exponential backoff (defaults.default_args:
  30 s, then 60 s, each with up to the same again as jitter), the try's ``retry_reason`` saying
  so ("transient infrastructure: QueryCanceled, ...", in the UI's try details).
- anything else: retried as before this policy (the same tries and backoff, no reason), since an
  unknown error may well be transient. So the two retried causes differ only in the reason each
  try records: what the policy adds is failing bad input at once, and naming the transient.

Matched by the qualified names of the exception's classes, so this module imports none of the
clients (confluent_kafka, botocore, kubernetes are heavy, and a DAG file must parse fast).
``AirflowFailException`` still fails a task at once: Airflow never asks the policy about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING

from airflow.sdk import RetryDecision, RetryPolicy

from include.markets_ops.errors import BadInputError

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context


class Cause(StrEnum):
    BAD_INPUT = "bad input"
    TRANSIENT = "transient infrastructure"
    UNKNOWN = "unknown"


# The clients' own "could not reach or hear back from the service" errors, by qualified name.
TRANSIENT_ERRORS = frozenset(
    {
        # PostgreSQL: connection refused or lost, statement or lock timeout, server shutting down.
        "psycopg.OperationalError",
        "sqlalchemy.exc.OperationalError",
        # Kafka: the client's errors, and the project's own "not delivered in time".
        "cimpl.KafkaException",  # confluent_kafka.KafkaException's own name
        "include.markets_ops.services.kafka.DeliveryError",
        # S3 (botocore): endpoint unreachable, connect or read timeout, connection closed.
        "botocore.exceptions.ConnectionError",
        "botocore.exceptions.HTTPClientError",
        # The model jobs' own, for a job run in this process (a pod or a subprocess ends with
        # its exit code instead: 1, an unknown failure, retried as before).
        "settlement_model.messaging.DeliveryError",
        "settlement_model.timeouts.S3UnavailableError",
        # HTTP services through requests: refused or timed out. MLflow's client re-raises a
        # refusal as MlflowException without its cause (unknown); its timeouts keep it.
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
    if isinstance(error, BadInputError):
        return Cause.BAD_INPUT
    names = _class_names(error)
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
            # RETRY with no delay of its own: the task's backoff. Past the last try Airflow fails
            # the task whatever the policy says, so the reason says that too.
            then = "retried with backoff" if try_number <= max_tries else "no try left"
            return RetryDecision.retry(reason=f"{what}, {then} after try {try_number}")
        return RetryDecision.default()


RETRY_BY_CAUSE = RetryByCause()
