"""Which processes the night benchmark counts for a task instance (benchmarks/process_memory.py)."""

from __future__ import annotations

import os

from benchmarks.process_memory import MemorySampler, _task_owner

TI = "0199a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"


def test_a_task_owns_its_supervisor_runner_and_model_job_and_nothing_else() -> None:
    processes = {
        10: (1, "airflow scheduler", "airflow"),
        11: (10, "airflow worker -- LocalExecutor: <idle>", "airflow"),
        12: (10, f"airflow worker -- LocalExecutor: {TI}", "airflow"),
        13: (12, f"airflow worker -- {TI}", "airflow"),
        14: (13, "/venv/bin/python -m settlement_model score --shard 0", "python"),
        20: (1, "postgres: warehouse_writer warehouse 127.0.0.1(5000) idle", "postgres"),
    }

    assert _task_owner(processes) == {12: TI, 13: TI, 14: TI}


def test_a_sample_of_this_machine_reads_its_load_and_memory() -> None:
    sampler = MemorySampler()

    sampler.sample()

    peaks = sampler.peaks
    assert len(peaks.load_1m) == 1
    assert peaks.load_1m[0] >= 0
    assert 0 < peaks.lowest_available < os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
