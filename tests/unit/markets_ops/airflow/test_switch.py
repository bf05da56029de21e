from __future__ import annotations

import pytest

from include.markets_ops.airflow.switch import run_allowed


@pytest.mark.parametrize("run_type", ["scheduled", "asset_triggered"])
def test_automatic_runs_follow_the_switch(run_type: str) -> None:
    assert run_allowed(run_type, None)  # a fresh deployment runs its schedule
    assert run_allowed(run_type, "true")
    for off in ("false", "False", " off ", "0", "no"):
        assert not run_allowed(run_type, off)


@pytest.mark.parametrize("run_type", ["manual", "backfill"])
def test_manual_runs_and_backfills_always_run(run_type: str) -> None:
    assert run_allowed(run_type, "false")
    assert run_allowed(run_type, None)
