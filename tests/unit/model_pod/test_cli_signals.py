"""The entry point stops at once on SIGTERM, with exit 143, never 0 (a pod's PID 1 would
otherwise ignore it and wait out the grace period; a stop that exits 0 would look like success)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

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
