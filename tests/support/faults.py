"""Fault injection on the local stack's own processes: a service paused (SIGSTOP: it accepts
connections and never answers, as a hung one does) or stopped for a block, then brought back
with the stack's own start; and the timing of the call that meets the fault."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack import airflow, kafka, mlflow, postgres, s3
from devstack.config import Stack
from devstack.process import paused, process_state, recorded_pid

STARTS: dict[str, Callable[[Stack], None]] = {
    "kafka": kafka.start,
    "s3": s3.start,
    "mlflow": mlflow.start,
    "postgres": postgres.start,
}
STOPS: dict[str, Callable[[], bool]] = {
    "kafka": kafka.stop,
    "s3": s3.stop,
    "mlflow": mlflow.stop,
    "postgres": postgres.stop,
}


@dataclass(frozen=True)
class Outcome:
    seconds: float
    error: BaseException | None


def timed(call: Callable[[], Any]) -> Outcome:
    started = time.monotonic()
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the failure is what is measured
        return Outcome(time.monotonic() - started, error)
    return Outcome(time.monotonic() - started, None)


def service_pid(name: str) -> int:
    pid = postgres.server_pid() if name == "postgres" else recorded_pid(name)
    assert pid is not None, f"{name} is not running: start the stack with `make up`"
    return pid


@contextlib.contextmanager
def service_paused(name: str) -> Iterator[None]:
    with paused(service_pid(name)):
        yield


@contextlib.contextmanager
def service_stopped(name: str) -> Iterator[None]:
    """``name`` stopped for the block, then started again as `make up` starts it (it is up
    and answering when the block's caller continues)."""
    assert STOPS[name](), f"{name} was not running"
    stopped_at = datetime.now(UTC)
    try:
        yield
    finally:
        STARTS[name](Stack.load())
        if name == "postgres":
            airflow_back_after_its_database_restarted(stopped_at)


def airflow_back_after_its_database_restarted(restarted_at: datetime, timeout: float = 60) -> list[str]:
    """Airflow's scheduler, triggerer and dag processor exit when their loop or heartbeat meets
    a restarted metadata database (sessions terminated), by design: a supervisor starts them
    again (systemd, Kubernetes; here `make up`). Wait until each has either heartbeated since
    the restart or exited, then start those that exited, as that supervisor would. Returns
    the components started again."""
    import requests

    stack = Stack.load()
    heartbeats = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}

    def settled() -> bool:
        if recorded_pid("airflow-api-server") is None:
            return True  # no one to ask: started again below with the rest
        try:
            health = requests.get(f"{stack.airflow_url}/api/v2/monitor/health", timeout=5).json()
        except requests.RequestException:
            return False
        for component, key in heartbeats.items():
            beat = health.get(key, {}).get(f"latest_{key}_heartbeat")
            alive = recorded_pid(f"airflow-{component}") is not None
            if alive and (beat is None or datetime.fromisoformat(beat) <= restarted_at):
                return False
        return True

    wait_for(settled, timeout, "Airflow's components to heartbeat or exit after the database restart")
    exited = [c for c in airflow.COMPONENTS if recorded_pid(f"airflow-{c}") is None]
    if exited:
        airflow.start(stack)
    return exited


def kill_process_tree(pid: int) -> int:
    """SIGKILL ``pid`` and every process under it at once, as a pod's end or a cgroup's OOM
    kill takes them. Its process group alone is not enough: Airflow's task supervisors put
    each task in a group of its own, and a task left running with its supervisor gone is not
    what a real crash leaves. Returns how many processes were killed."""
    import psutil

    root = psutil.Process(pid)
    tree = [root, *root.children(recursive=True)]
    for process in tree:  # stopped first: none of them forks or reaps while the tree goes
        with contextlib.suppress(psutil.NoSuchProcess):
            process.suspend()
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return len(tree)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"not within {timeout:.0f} s: {what}")


def report(case: str, outcome: Outcome) -> None:
    """One line per fault (pytest -s), the figures of docs/operations.md's table."""
    error = f"{type(outcome.error).__name__}: {str(outcome.error)[:300]}" if outcome.error else "no error"
    print(f"\n  fault {case}: failed after {outcome.seconds:.1f} s: {error}", flush=True)


def restore_stack() -> list[str]:
    """Bring back whatever a test left down or paused (a fault test interrupted by its timeout
    between the fault and the recovery), so that one failure does not fail every test after
    it. Returns what it brought back; nothing when the stack is whole."""
    restored = []
    pids = {name: recorded_pid(name) for name in STARTS if name != "postgres"}
    pids["postgres"] = postgres.server_pid()
    for name, pid in pids.items():
        if pid is not None and process_state(pid) == "T":
            os.killpg(pid, signal.SIGCONT)
            restored.append(f"{name} (paused)")
        elif pid is None:
            STARTS[name](Stack.load())
            restored.append(f"{name} (down)")
    if missing := [c for c in airflow.COMPONENTS if recorded_pid(f"airflow-{c}") is None]:
        airflow.start(Stack.load())
        restored += [f"airflow-{c} (down)" for c in missing]
    return restored
