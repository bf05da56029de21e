"""Peak memory of a night's processes and the machine's load, sampled from /proc (Linux).

A thread reads /proc every ``interval`` seconds (a quarter of a second) while the night runs:
- each Airflow task instance's processes: the LocalExecutor's supervisor and the task runner
  set their titles to ``airflow worker -- ...<task instance id>``; a model job is their child
  (``python -m settlement_model ...``). Per task instance: the peak RSS of its largest process
  (the kernel's high-water mark, VmHWM, so a peak between two samples is not missed) and of its
  model job if it has one;
- PostgreSQL: the peak of the server's proportional set size summed over its processes (shared
  buffers counted once, not once per backend);
- the machine: 1-minute load average, CPU busy share, lowest available memory.
Run as root (make bench is) to read other users' processes, PostgreSQL's included.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TASK_TITLE = re.compile(r"^airflow worker -- (?:\S+: )?([0-9a-f]{8}-[0-9a-f-]{27})")
MODEL_JOB = "settlement_model"
KIB_PER_MIB = 1024


@dataclass
class Peaks:
    task_rss: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # ti id -> MiB
    job_rss: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # ti id -> MiB
    postgres_pss: float = 0.0  # MiB
    load_1m: list[float] = field(default_factory=list)
    cpu_busy: list[float] = field(default_factory=list)  # share of all cores, per interval
    lowest_available: float = float("inf")  # MiB


class MemorySampler(threading.Thread):
    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(name="memory-sampler", daemon=True)
        self.interval = interval
        self.peaks = Peaks()
        self._stop_requested = threading.Event()
        self._cpu_before = _cpu_times()

    def run(self) -> None:
        while not self._stop_requested.wait(self.interval):
            self.sample()

    def stop(self) -> Peaks:
        self._stop_requested.set()
        self.join()
        return self.peaks

    def sample(self) -> None:
        processes = _processes()
        owner = _task_owner(processes)
        postgres_pss = 0.0
        for pid, (_, title, name) in processes.items():
            if name == "postgres":
                postgres_pss += _smaps_field(pid, "Pss")
            if (ti_id := owner.get(pid)) is None:
                continue
            peak = _status_field(pid, "VmHWM")
            self.peaks.task_rss[ti_id] = max(self.peaks.task_rss[ti_id], peak)
            if MODEL_JOB in title:
                self.peaks.job_rss[ti_id] = max(self.peaks.job_rss[ti_id], peak)
        self.peaks.postgres_pss = max(self.peaks.postgres_pss, postgres_pss)
        self._sample_machine()

    def _sample_machine(self) -> None:
        self.peaks.load_1m.append(float((PROC / "loadavg").read_text().split()[0]))
        now = _cpu_times()
        busy, total = now[0] - self._cpu_before[0], now[1] - self._cpu_before[1]
        if total:
            self.peaks.cpu_busy.append(busy / total)
        self._cpu_before = now
        available = _meminfo_field("MemAvailable")
        self.peaks.lowest_available = min(self.peaks.lowest_available, available)


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, command line or title, executable name), for live processes."""
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        found[int(entry.name)] = (parent, title, name)
    return found


def _task_owner(processes: dict[int, tuple[int, str, str]]) -> dict[int, str]:
    """pid -> the task instance whose supervisor or task runner it is or descends from."""
    owners: dict[int, str] = {}
    for pid in processes:
        ancestor, hops = pid, 0
        while ancestor in processes and hops < 8:
            parent, title, _ = processes[ancestor]
            if match := TASK_TITLE.match(title):
                owners[pid] = match.group(1)
                break
            ancestor, hops = parent, hops + 1
    return owners


def _status_field(pid: int, name: str) -> float:
    """A ``/proc/<pid>/status`` size in MiB (0 if the process ended)."""
    return _proc_field(pid, "status", name)


def _smaps_field(pid: int, name: str) -> float:
    """A ``/proc/<pid>/smaps_rollup`` size in MiB (0 if the process ended)."""
    return _proc_field(pid, "smaps_rollup", name)


def _proc_field(pid: int, file: str, name: str) -> float:
    try:
        lines = (PROC / str(pid) / file).read_text().splitlines()
    except OSError:
        return 0.0
    return _kib_field(lines, name)


def _meminfo_field(name: str) -> float:
    return _kib_field((PROC / "meminfo").read_text().splitlines(), name)


def _kib_field(lines: list[str], name: str) -> float:
    for line in lines:
        key, _, value = line.partition(":")
        if key == name:
            return int(value.split()[0]) / KIB_PER_MIB
    return 0.0


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    fields = [int(value) for value in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user and nice
    return total - idle, total


def wait_for_samples(sampler: MemorySampler, count: int = 2) -> None:
    """Block until the sampler has taken ``count`` samples (a baseline before the night)."""
    while len(sampler.peaks.load_1m) < count:
        time.sleep(sampler.interval / 2)


def wait_with_peak_rss(process: subprocess.Popen, poll_seconds: float = 0.1) -> float:
    """Wait for a child process; its peak resident set in MiB (its own VmHWM, polled until it
    exits: the resource usage wait4 returns would count the parent's memory too, which a child
    shares between fork and exec). Raises when it exits with an error."""
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _status_field(process.pid, "VmHWM"))
        time.sleep(poll_seconds)
    if process.returncode != 0:
        raise RuntimeError(f"{process.args!r} failed with exit code {process.returncode}: see its log")
    return peak


def machine_summary(peaks: Peaks) -> dict[str, float]:
    """The machine's load while the sampler ran: 1-minute load average (max, mean), the mean
    share of the cores busy, the lowest available memory."""
    return {
        "cores": float(os.cpu_count() or 0),
        "load_1m_max": max(peaks.load_1m),
        "load_1m_mean": statistics.fmean(peaks.load_1m),
        "cpu_busy_mean": statistics.fmean(peaks.cpu_busy) if peaks.cpu_busy else 0.0,
        "lowest_available_mib": peaks.lowest_available,
    }


def describe_machine(machine: dict[str, float]) -> str:
    return (
        f"Machine: {machine['cores']:.0f} cores, load (1 min) max {machine['load_1m_max']:.2f}, "
        f"mean {machine['load_1m_mean']:.2f}; CPU busy {machine['cpu_busy_mean']:.0%} on average; "
        f"lowest available memory {machine['lowest_available_mib']:,.0f} MiB."
    )
