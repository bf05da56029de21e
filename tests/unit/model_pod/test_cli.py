"""The jobs' command line: arguments, the contract's exit codes, and SIGTERM: the entry point stops at
once with exit 143, never 0 (a pod's PID 1 would otherwise ignore it and wait out the grace period; a
stop that exits 0 would look like success)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from settlement_model import cli, contract

PACKAGE = Path(cli.__file__).resolve().parent

SCORE = [
    "score",
    "--business-date",
    "2026-11-20",
    "--run-id",
    "r",
    "--high-risk-threshold",
    "0.3",
    "--medium-risk-threshold",
    "0.1",
]


def test_a_job_without_its_environment_exits_with_the_usage_code(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in contract.CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert cli.main(SCORE) == contract.EXIT_USAGE


def test_thresholds_in_the_wrong_order_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "postgresql://x",
        "S3_BUCKET": "b",
        "MLFLOW_TRACKING_URI": "http://m",
        "KAFKA_BOOTSTRAP_SERVERS": "k:1",
    }.items():
        monkeypatch.setenv(name, value)
    swapped = [*SCORE[:-4], "--high-risk-threshold", "0.1", "--medium-risk-threshold", "0.3"]
    assert cli.main(swapped) == contract.EXIT_USAGE


def test_an_attempt_that_is_not_one_folder_name_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "postgresql://x",
        "S3_BUCKET": "b",
        "MLFLOW_TRACKING_URI": "http://m",
        "KAFKA_BOOTSTRAP_SERVERS": "k:1",
    }.items():
        monkeypatch.setenv(name, value)
    assert cli.main([*SCORE, "--attempt", "../other-date"]) == contract.EXIT_USAGE


def test_a_malformed_date_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(
            [
                "score",
                "--business-date",
                "20/11/2026",
                "--run-id",
                "r",
                "--high-risk-threshold",
                "0.3",
                "--medium-risk-threshold",
                "0.1",
            ]
        )
    assert exit_info.value.code == contract.EXIT_USAGE


def test_alias_and_version_cannot_both_be_given() -> None:
    with pytest.raises(SystemExit):
        cli.main([*SCORE, "--model-alias", "champion", "--model-version", "3"])


def test_a_refused_precondition_exits_with_the_refused_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_args: object) -> None:
        raise contract.RefusedError("model settlement_fail_risk has no alias 'champion'")

    monkeypatch.setitem(cli.JOBS, "score", refuse)
    assert cli.main(SCORE) == contract.EXIT_REFUSED


def test_an_unexpected_error_exits_non_zero_with_its_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "settlement_model", *SCORE],
        env={
            "PYTHONPATH": str(PACKAGE.parent),
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "S3_BUCKET": "b",
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:1",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == contract.EXIT_FAILED
    assert "Traceback" in completed.stderr


MODEL_POD = Path(__file__).resolve().parents[3] / "model_pod"

BLOCKING_JOB = """
import sys, time
from settlement_model import cli
cli.JOBS["version"] = lambda args: (print("working", flush=True), time.sleep(60))
sys.exit(cli.main(["version"]))
"""


def test_sigterm_stops_the_job_at_once_with_exit_143() -> None:
    job = subprocess.Popen(
        [sys.executable, "-c", BLOCKING_JOB],
        cwd=MODEL_POD,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert job.stdout is not None
    assert job.stdout.readline().strip() == "working"
    started = time.monotonic()
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=10) == 143
    assert time.monotonic() - started < 5
    assert "stopped by signal 15 before the job finished (exit 143)" in job.stdout.read()
