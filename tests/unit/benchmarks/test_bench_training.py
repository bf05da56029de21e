"""The training-night benchmark's world, command lines and report (benchmarks/bench_training.py)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from settlement_model.training_set import Windows

from benchmarks import bench_training
from benchmarks.process_memory import wait_with_peak_rss
from include.markets_ops import calendars

DEFAULT_WINDOWS = Windows.for_training_date(
    bench_training.training_date(),
    train_days=60,
    holdout_days=10,
    label_lag_days=bench_training.LABEL_LAG_DAYS,
)


def test_the_world_covers_every_date_the_training_windows_read_and_a_week_before() -> None:
    dates = bench_training.world_dates(bench_training.training_date())
    assert dates[0] <= DEFAULT_WINDOWS.train_start - dt.timedelta(days=bench_training.LEAD_DAYS)
    assert dates[-1] == bench_training.training_date() == DEFAULT_WINDOWS.eval_labels_known_by
    assert all(calendars.is_business_day(day, calendars.OPERATIONS_CALENDAR) for day in dates)
    assert len(dates) == 63


def test_the_jobs_get_the_command_lines_of_a_scheduled_training_run() -> None:
    arguments = bench_training.job_arguments(dt.date(2027, 4, 5), "bench")
    assert list(arguments) == list(bench_training.JOBS)
    assert arguments["build-training-set"] == [
        "--training-date", "2027-04-05", "--train-days", "60", "--holdout-days", "10", "--run-id", "bench",
    ]  # fmt: skip
    assert arguments["train"] == ["--training-date", "2027-04-05", "--run-id", "bench"]
    assert arguments["evaluate"] == ["--training-date", "2027-04-05"]


def test_a_jobs_result_is_its_last_result_line() -> None:
    log = 'INFO starting\nRESULT {"rows": 1}\nINFO more\nRESULT {"rows": 2, "x": "y"}\nINFO done\n'
    assert bench_training.job_result(log) == {"rows": 2, "x": "y"}


def test_the_report_names_each_step_the_night_and_the_auc_gap() -> None:
    report = {
        "volume": {"trades_per_day": 1000, "business_days": 63, "training_date": "2027-04-05"},
        "steps": [
            {"step": "build-training-set", "seconds": 10.0, "peak_rss_mib": 700.0, "result": {"rows": 5}},
            {"step": "train", "seconds": 20.0, "peak_rss_mib": 1800.0, "result": {}},
            {"step": "evaluate", "seconds": 5.0, "peak_rss_mib": 500.0, "result": {}},
            {
                "step": "ground truth report",
                "seconds": 4.0,
                "peak_rss_mib": 600.0,
                "result": {
                    "ground_truth_model_roc_auc": 0.75,
                    "ground_truth_bayes_roc_auc": 0.76,
                    "ground_truth_auc_gap": 0.01,
                    "ground_truth_rows": 1234,
                },
            },
        ],
        "night_seconds": 39.0,
        "postgres_peak_pss_mib": 900.0,
        "machine": {
            "cores": 2.0,
            "load_1m_max": 2.5,
            "load_1m_mean": 1.9,
            "cpu_busy_mean": 0.8,
            "lowest_available_mib": 15000.0,
        },
    }
    text = bench_training.markdown(report)
    assert "| **the night** | **39.0** | **1,800** (largest) |" in text
    assert "gap 0.0100" in text
    assert "load (1 min) max 2.50, mean 1.90; CPU busy 80%" in text
    assert "PostgreSQL peak memory (PSS) 900 MiB" in text
    results = {result.metric: result.value for result in bench_training.results(report)}
    assert results["the night: build + train + evaluate + ground truth"] == 39.0
    assert results["train: peak RSS"] == 1800.0
    assert results["ROC AUC gap to Bayes-optimal"] == 0.01


def test_a_childs_peak_rss_is_its_own_high_water_mark() -> None:
    # Allocated, then freed: the high-water mark still shows it while the child lives on.
    grow = "import time; b = bytearray(200 * 2**20); del b; time.sleep(0.5)"
    peak = wait_with_peak_rss(subprocess.Popen([sys.executable, "-c", grow]))
    assert 200 < peak < 400


def test_a_failed_child_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="exit code 3"):
        wait_with_peak_rss(subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]))
