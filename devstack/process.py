"""Start, find and stop the stack's processes by the pid they recorded: never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from devstack.config import HOST, LOG_DIR, RUN_DIR


class StackError(RuntimeError):
    """A service did not come up, or the machine is not ready for it. The message says which."""


def pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def log_file(name: str) -> Path:
    return LOG_DIR / f"{name}.log"


def private_file(path: Path) -> Path:
    """Create ``path`` (and its folder) if needed, readable by its owner only, and return it. Every
    log and configuration file of the stack goes through here: a service's log can carry a
    connection string, and nothing of the stack is for other users of the machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # touch's mode applies only to a new file
    return path


def write_private(path: Path, text: str) -> None:
    private_file(path).write_text(text)


def recorded_pid(name: str) -> int | None:
    """The pid this service recorded, if that process is still alive."""
    path = pid_file(name)
    if not path.exists():
        return None
    try:
        pid = int(path.read_text().split()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        path.unlink(missing_ok=True)
        return None
    except PermissionError:
        return pid  # alive, owned by another user (the postgres server when run as root)
    if _is_zombie(pid):  # killed, not yet reaped by its parent (init or a subreaper)
        path.unlink(missing_ok=True)
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    return process_state(pid) in ("Z", None)  # None: gone between the signal and the read


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of ``pid`` (S, R, T for stopped, Z, ...); None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    # The state follows the command name, which is in parentheses and may contain spaces.
    return stat.rsplit(")", 1)[1].split()[0]


def start_detached(name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
    """Start a long-running service in its own session, output appended to var/log/<name>.log."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with private_file(log_file(name)).open("ab") as log:
        log.write(f"\n===== {time.strftime('%F %T')} starting: {' '.join(argv)}\n".encode())
        log.flush()
        # A new session makes the service the leader of its own process group, so `down`
        # can stop it with all its children (gunicorn/uvicorn workers, executors) and
        # nothing else.
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file(name).write_text(f"{process.pid}\n")
    return process.pid


def stop_group(name: str, timeout: float = 30.0) -> bool:
    """Stop the process group a service recorded; True when something was stopped."""
    pid = recorded_pid(name)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    if _group_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file(name).unlink(missing_ok=True)
    return True


@contextlib.contextmanager
def paused(pgid: int) -> Iterator[None]:
    """Fault injection: the process group ``pgid`` (a service recorded_pid returns: each is the
    leader of its own group, so its workers stop with it) is stopped with SIGSTOP for the
    block, and always continued afterwards. A stopped service still accepts TCP connections
    (the kernel does) but never answers, as a hung one does."""
    os.killpg(pgid, signal.SIGSTOP)
    try:
        yield
    finally:
        _signal_group(pgid, signal.SIGCONT)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running. Exited members can linger as zombies
    (the leader when this process started it, until reaped here; orphans, when the machine's
    init is slow to reap them), and a zombie is no service."""
    _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(group == pgid and state != "Z" for state, group in _process_groups())


def _process_groups() -> Iterator[tuple[str, int]]:
    """(state, process group) of every process, from /proc/<pid>/stat."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            yield fields[0], int(fields[2])


def port_is_free(port_number: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port_number))
        except OSError:
            return False
    return True


def wait_until(name: str, check: Callable[[], bool], timeout: float, pid: int | None = None) -> None:
    """Poll ``check`` until it passes; fail naming the service and its log file."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if pid is not None and not _group_alive(pid):
            raise StackError(
                f"{name} exited during start-up; see its log: {log_file(name)}\n" + tail(log_file(name))
            )
        try:
            if check():
                return
        except Exception as error:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = error
        time.sleep(0.5)
    detail = f" (last error: {last_error})" if last_error else ""
    raise StackError(
        f"{name} did not become healthy within {timeout:.0f}s{detail}; "
        f"see its log: {log_file(name)}\n" + tail(log_file(name))
    )


def tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    content = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in content)


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if this process started it (a restart from within a
    command or a test; `make up` hands its services to init): until then it stays a zombie,
    and stop_group waited out its whole timeout on a service already gone (45 s for each
    Airflow component when a test switched the job runtime)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
