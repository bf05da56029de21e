"""The demo's choice of world and date, without a stack."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from devstack import demo
from include.markets_ops.synthetic.config import DEMO_DATE, GeneratorConfig, default_epoch

REQUESTED = GeneratorConfig(seed=7, epoch=default_epoch(), trades_per_day=10_000)


def test_a_new_warehouse_gets_the_demo_world() -> None:
    assert demo._world_to_continue(None, REQUESTED, DEMO_DATE) == REQUESTED


def test_the_same_world_with_a_longer_history_is_continued() -> None:
    stored = replace(REQUESTED, epoch=dt.date(2026, 9, 1))
    assert demo._world_to_continue(stored, REQUESTED, DEMO_DATE) == stored


@pytest.mark.parametrize("change", [{"seed": 8}, {"trades_per_day": 20_000}, {"epoch": DEMO_DATE}])
def test_another_world_is_refused_with_the_way_out(change: dict) -> None:
    with pytest.raises(demo.DemoError, match="reset --yes"):
        demo._world_to_continue(replace(REQUESTED, **change), REQUESTED, DEMO_DATE)


def test_the_demo_date_defaults_to_the_latest_due_business_date(monkeypatch) -> None:
    from include.markets_ops.airflow import schedules

    monkeypatch.setattr(
        schedules, "latest_complete_business_date", lambda now: dt.date(2026, 11, 25), raising=True
    )
    monkeypatch.delenv("DEMO_DATE", raising=False)
    assert demo.settings_from_environment()[0] == dt.date(2026, 11, 25)
    monkeypatch.setenv("DEMO_DATE", "2026-10-30")
    assert demo.settings_from_environment()[0] == dt.date(2026, 10, 30)
    monkeypatch.setenv("DEMO_DATE", "2026-11-26")  # Thanksgiving
    with pytest.raises(demo.DemoError, match="not a XNYS business day"):
        demo.settings_from_environment()
