from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _automatic_runs_off(nightly_schedule_switched_off: None) -> None:
    """See tests/conftest.py: no scheduled or asset-triggered run does work during the tests."""
