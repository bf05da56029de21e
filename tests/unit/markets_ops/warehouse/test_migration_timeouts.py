"""The timeouts every migration runs with: defaults, overrides from the environment, refusals."""

from __future__ import annotations

import pytest

from include.markets_ops.warehouse.migration_timeouts import (
    LOCK_TIMEOUT_ENV,
    STATEMENT_TIMEOUT_ENV,
    MigrationTimeoutError,
    MigrationTimeouts,
    duration_ms,
    from_environment,
)


def test_the_defaults_are_a_short_lock_wait_and_a_long_statement() -> None:
    timeouts = from_environment({})
    assert timeouts == MigrationTimeouts(lock_timeout="5s", statement_timeout="30min")
    assert timeouts.set_statements() == ["SET lock_timeout = '5s'", "SET statement_timeout = '30min'"]
    assert timeouts.libpq_options() == "-c lock_timeout=5s -c statement_timeout=30min"


def test_the_environment_overrides_each_one() -> None:
    timeouts = from_environment({LOCK_TIMEOUT_ENV: " 750ms ", STATEMENT_TIMEOUT_ENV: "2h"})
    assert timeouts.set_statements() == ["SET lock_timeout = '750ms'", "SET statement_timeout = '2h'"]
    assert timeouts.libpq_options() == "-c lock_timeout=750ms -c statement_timeout=2h"
    assert from_environment({LOCK_TIMEOUT_ENV: ""}).lock_timeout == "5s"  # empty: the default


@pytest.mark.parametrize(
    ("value", "milliseconds"), [("500ms", 500), ("5s", 5_000), ("2min", 120_000), ("1h", 3_600_000)]
)
def test_durations_take_postgresql_units(value: str, milliseconds: int) -> None:
    assert duration_ms("X", value) == milliseconds


@pytest.mark.parametrize("value", ["5", "5 s", "five seconds", "-1s", "1d", "5s; DROP TABLE ops.trades", ""])
def test_a_value_that_is_not_a_duration_with_a_unit_is_refused_by_name(value: str) -> None:
    with pytest.raises(MigrationTimeoutError, match=f"{LOCK_TIMEOUT_ENV}=.*not a PostgreSQL duration"):
        MigrationTimeouts(lock_timeout=value, statement_timeout="30min")


@pytest.mark.parametrize("env", [LOCK_TIMEOUT_ENV, STATEMENT_TIMEOUT_ENV])
def test_zero_would_switch_a_timeout_off_and_is_refused(env: str) -> None:
    with pytest.raises(MigrationTimeoutError, match=f"{env}='0ms': zero switches the timeout off"):
        from_environment({env: "0ms"})


def test_a_lock_timeout_longer_than_the_statement_timeout_is_refused() -> None:
    with pytest.raises(MigrationTimeoutError, match=r"'10min' exceeds .*'5min'"):
        from_environment({LOCK_TIMEOUT_ENV: "10min", STATEMENT_TIMEOUT_ENV: "5min"})
