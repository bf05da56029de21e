"""Dry runs: the preview location, and how a task avoids publishing."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from include.markets_ops.airflow import dry_run


def test_the_preview_prefix_is_per_dag_run_and_date_and_key_safe() -> None:
    assert (
        dry_run.preview_prefix(
            "trade_reconciliation", "manual__2031-07-08T10:00:00+00:00", dt.date(2031, 7, 8)
        )
        == "previews/trade_reconciliation/manual__2031-07-08T10_00_00_00_00/business_date=2031-07-08/"
    )
    assert (
        dry_run.preview_prefix("ops_demo_feed", "run/../../reports")
        == "previews/ops_demo_feed/run_.._.._reports/"
    )


def test_no_preview_prefix_outside_previews() -> None:
    with pytest.raises(ValueError, match="no preview prefix"):
        dry_run.preview_prefix("../reports", "run")
    with pytest.raises(ValueError, match="no preview prefix"):
        dry_run.preview_prefix("ops_demo_feed", "///")


def test_dry_run_comes_from_the_params() -> None:
    assert dry_run.is_dry_run({"params": {"dry_run": True}})
    assert not dry_run.is_dry_run({"params": {"dry_run": False}})
    assert not dry_run.is_dry_run({"params": {}})


def test_publishing_tasks_skip_in_a_dry_run_only() -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException, match="dry run: publishing"):
        dry_run.skip_when_dry_run({"params": {"dry_run": True}}, "publishing the report")
    dry_run.skip_when_dry_run({"params": {"dry_run": False}}, "publishing the report")


def test_suppressing_asset_events_empties_the_running_task_outlets() -> None:
    from include.markets_ops.airflow.assets import RECON_BREAKS

    task = SimpleNamespace(outlets=[RECON_BREAKS])
    dry_run.suppress_asset_events({"ti": SimpleNamespace(task=task)})
    assert task.outlets == []
