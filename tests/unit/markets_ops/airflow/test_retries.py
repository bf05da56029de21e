"""Retries by cause: which exceptions fail at once, which retry, matched on the real clients'
exception classes (imported here, never by the policy)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from include.markets_ops import calendars
from include.markets_ops.airflow.retries import (
    RETRY_BY_CAUSE,
    TRANSIENT_ERRORS,
    Cause,
    RetryByCause,
    cause_of,
)
from include.markets_ops.errors import BadInputError


def _bad_inputs() -> list[BaseException]:
    from include.markets_ops.alerting.night import RulesFailedError
    from include.markets_ops.alerting.rules import RuleError
    from include.markets_ops.feed.landing import CorruptFileError
    from include.markets_ops.feed.loader import MalformedFileError
    from include.markets_ops.jobs.kubernetes_runtime import ClusterSettingsError
    from include.markets_ops.jobs.spec import JobContractError
    from include.markets_ops.services.model_registry import ModelNotFoundError
    from include.markets_ops.synthetic.upstream import NoWorldError
    from include.markets_ops.training.promotion import GateError

    return [
        calendars.NotABusinessDateError("2026-11-28 is not a XNYS business day"),
        MalformedFileError("trades: wrong header"),
        CorruptFileError("trades: checksum differs from the manifest"),
        RuleError("fails.sql", "unknown parameter"),
        RulesFailedError("1 rule failed"),
        JobContractError("settlement-model score exited with code 2 (contract error)"),
        ClusterSettingsError("401"),
        ModelNotFoundError("no version 99"),
        NoWorldError("no synthetic world"),
        GateError("nothing to roll back to"),
    ]


@pytest.mark.parametrize("error", _bad_inputs(), ids=lambda e: type(e).__name__)
def test_validation_refused_dates_and_contract_errors_are_bad_input(error: BaseException) -> None:
    assert cause_of(error) is Cause.BAD_INPUT


def _transients() -> list[BaseException]:
    import botocore.exceptions
    import confluent_kafka
    import psycopg
    import sqlalchemy.exc
    import urllib3.exceptions

    from include.markets_ops.services.kafka import DeliveryError

    return [
        psycopg.OperationalError("connection refused"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.LockNotAvailable("lock timeout"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        confluent_kafka.KafkaException(confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT)),
        DeliveryError("3 messages not delivered within 60 s"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        botocore.exceptions.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        urllib3.exceptions.MaxRetryError(None, "/api/v1/pods"),  # type: ignore[arg-type]
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
    ]


@pytest.mark.parametrize("error", _transients(), ids=lambda e: type(e).__name__)
def test_unreachable_or_timed_out_services_are_transient(error: BaseException) -> None:
    assert cause_of(error) is Cause.TRANSIENT


@pytest.mark.parametrize(
    ("status", "cause"), [(503, Cause.TRANSIENT), (429, Cause.TRANSIENT), (422, Cause.UNKNOWN)]
)
def test_kubernetes_api_answers_are_transient_only_when_they_say_later(status: int, cause: Cause) -> None:
    from kubernetes.client.exceptions import ApiException

    assert cause_of(ApiException(status=status, reason="x")) is cause


@pytest.mark.parametrize(
    "error", [KeyError("x"), RuntimeError("?"), ValueError("3 != 4"), ZeroDivisionError()]
)
def test_anything_else_is_unknown(error: BaseException) -> None:
    assert cause_of(error) is Cause.UNKNOWN


def _raised(fail: Callable[[], None], expected: type[BaseException]) -> BaseException:
    with pytest.raises(expected) as raised:
        fail()
    return raised.value


def _wrapping(inner: BaseException, outer: BaseException) -> Callable[[], None]:
    def fail() -> None:
        try:
            raise inner
        except type(inner) as error:
            raise outer from error

    return fail


def _while_handling(inner: BaseException, outer: BaseException) -> Callable[[], None]:
    def fail() -> None:
        try:
            raise inner
        except type(inner):
            raise outer  # noqa: B904  (the point: no "from")

    return fail


def test_a_wrapped_error_has_its_causes_cause() -> None:
    import psycopg

    refused = psycopg.OperationalError("connection refused")
    wrapped = _raised(_wrapping(refused, RuntimeError("the warehouse does not answer")), RuntimeError)
    saturday = calendars.NotABusinessDateError("Saturday")
    not_scored = _raised(_wrapping(saturday, RuntimeError(f"not scored: {saturday}")), RuntimeError)

    assert cause_of(wrapped) is Cause.TRANSIENT
    assert cause_of(not_scored) is Cause.BAD_INPUT


def test_an_error_raised_while_handling_another_is_not_caused_by_it() -> None:
    bug = _raised(_while_handling(BadInputError("bad row"), KeyError("a bug in the handler")), KeyError)

    assert bug.__context__ is not None
    assert cause_of(bug) is Cause.UNKNOWN


def test_the_decisions() -> None:
    import psycopg

    policy = RetryByCause()
    refused = policy.evaluate(calendars.NotABusinessDateError("Saturday"), try_number=1, max_tries=2)
    transient = policy.evaluate(psycopg.OperationalError("down"), try_number=1, max_tries=2)
    unknown = policy.evaluate(KeyError("x"), try_number=1, max_tries=2)

    assert (refused.action, refused.reason) == (
        RetryAction.FAIL,
        "bad input: NotABusinessDateError, a retry would fail the same way",
    )
    # No delay of its own: the task's retry_delay with its exponential backoff applies.
    assert (transient.action, transient.retry_delay) == (RetryAction.RETRY, None)
    assert transient.reason == "transient infrastructure: OperationalError, retried with backoff after try 1"
    assert unknown.action is RetryAction.DEFAULT


def test_the_last_try_is_not_said_to_be_retried() -> None:
    last = RetryByCause().evaluate(TimeoutError("timed out"), try_number=3, max_tries=2)
    assert last.reason == "transient infrastructure: TimeoutError, no try left after try 3"


@pytest.mark.parametrize("name", sorted(TRANSIENT_ERRORS))
def test_every_transient_name_is_the_qualified_name_of_a_real_class(name: str) -> None:
    """Matched by name, so a renamed or misspelt class would silently stop matching."""
    import importlib

    module, _, qualname = name.rpartition(".")
    if module == "cimpl":  # confluent_kafka's C extension, imported under the package's name
        module = "confluent_kafka.cimpl"
    cls = getattr(importlib.import_module(module), qualname)
    assert isinstance(cls, type)
    assert issubclass(cls, BaseException)
    assert f"{cls.__module__}.{cls.__qualname__}" == name


def test_the_shared_defaults_carry_it() -> None:
    from include.markets_ops.airflow.defaults import Owner, default_args

    args = default_args(Owner.MLOPS)
    assert args["retry_policy"] is RETRY_BY_CAUSE
    assert (args["retries"], args["retry_delay"]) == (2, dt.timedelta(seconds=30))
