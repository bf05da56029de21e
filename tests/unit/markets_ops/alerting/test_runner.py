"""Running a rule: which errors are worth a retry."""

from __future__ import annotations

import pytest

from include.markets_ops.alerting.rules import RuleError
from include.markets_ops.alerting.runner import is_permanent


class _SqlError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (RuleError("x.sql", "malformed header"), True),
        (_SqlError("42601"), True),  # syntax error
        (_SqlError("42P01"), True),  # undefined table
        (_SqlError("22012"), True),  # division by zero
        (_SqlError("25006"), True),  # a write on the read-only connection
        (_SqlError("57014"), False),  # statement timeout: maybe a busy night
        (_SqlError("08006"), False),  # connection lost
        (ConnectionError("reset"), False),
    ],
)
def test_which_errors_are_not_worth_a_retry(error: Exception, permanent: bool) -> None:
    assert is_permanent(error) is permanent
