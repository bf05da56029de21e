"""The stack machinery without a stack: port checks, health waits, detached processes and
the step runner of `make up`, each failing with a message that names the service, the port
or the log file to read."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import devstack.__main__ as stack_cli
from devstack import airflow, process
from devstack.config import HOST, Stack, StackSecrets
from devstack.process import StackError


@pytest.fixture(autouse=True)
def private_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pid files and logs go to a temporary folder, never the checkout's var/."""
    monkeypatch.setattr(process, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(process, "LOG_DIR", tmp_path / "log")
    monkeypatch.setattr(stack_cli, "LOG_DIR", tmp_path / "log")
    return tmp_path


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port some other program holds for the length of the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other_program:
        other_program.bind((HOST, 0))
        other_program.listen()
        yield other_program.getsockname()[1]


def a_stack() -> Stack:
    return Stack(StackSecrets({}))


# --- ports -----------------------------------------------------------------------------


def test_a_port_in_use_fails_naming_the_port_the_service_and_the_override(
    listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_MLFLOW_PORT", str(listening_port))
    monkeypatch.setattr(stack_cli, "SERVICE_PORTS", {"mlflow": ("mlflow",)})

    with pytest.raises(StackError) as raised:
        stack_cli.check_ports(a_stack())

    assert f"{listening_port} (mlflow; override with STACK_MLFLOW_PORT)" in str(raised.value)


def test_the_port_of_the_stacks_own_running_service_is_not_a_conflict(
    listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_MLFLOW_PORT", str(listening_port))
    monkeypatch.setattr(stack_cli, "SERVICE_PORTS", {"mlflow": ("mlflow",)})
    monkeypatch.setattr(stack_cli, "recorded_pid", lambda name: 4242 if name == "mlflow" else None)
    stack_cli.check_ports(a_stack())  # no error: `make up` on a running stack is a no-op


def test_a_free_port_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        released = probe.getsockname()[1]
    monkeypatch.setenv("STACK_MLFLOW_PORT", str(released))
    monkeypatch.setattr(stack_cli, "SERVICE_PORTS", {"mlflow": ("mlflow",)})
    monkeypatch.setattr(stack_cli, "recorded_pid", lambda name: None)
    stack_cli.check_ports(a_stack())


def test_port_is_free_tells_a_held_port_from_a_released_one() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind((HOST, 0))
        holder.listen()
        held = holder.getsockname()[1]
        assert process.port_is_free(held) is False
    assert process.port_is_free(held) is True


# --- health waits ----------------------------------------------------------------------


def test_a_health_check_that_never_passes_names_the_service_its_log_and_the_last_error(
    private_var: Path,
) -> None:
    log = private_var / "log" / "mlflow.log"
    log.parent.mkdir(parents=True)
    log.write_text("booting\nstill booting\n")

    def refused() -> bool:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(StackError) as raised:
        process.wait_until("mlflow", refused, timeout=0.3)

    message = str(raised.value)
    assert message.startswith("mlflow did not become healthy")
    assert f"see its log: {log}" in message
    assert "connection refused" in message
    assert "still booting" in message  # the log's tail is shown


def test_a_service_that_exits_during_start_up_fails_at_once_with_its_log(private_var: Path) -> None:
    pid = process.start_detached(
        "kafka", ["sh", "-c", "echo cannot bind the listener; exit 1"], env=os.environ
    )
    reap_in_background(pid)
    started = time.monotonic()

    with pytest.raises(StackError) as raised:
        process.wait_until("kafka", lambda: False, timeout=30, pid=pid)

    assert time.monotonic() - started < 10  # did not wait for the timeout
    message = str(raised.value)
    assert f"kafka exited during start-up; see its log: {private_var / 'log' / 'kafka.log'}" in message
    assert "cannot bind the listener" in message


# --- detached processes ----------------------------------------------------------------


def reap_in_background(pid: int) -> None:
    """Outside a test the detached service outlives `python -m devstack up` and init reaps
    it; here the test process is its parent, so reap it like init would (a zombie still
    counts as a member of its process group)."""

    def reap() -> None:
        # subprocess reaps the Popen objects it has dropped when it starts the next
        # process: if it got there first, there is nothing left to reap.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    threading.Thread(target=reap, daemon=True).start()


def processes_in_group(pgid: int) -> list[str]:
    """The group's processes that still run: an orphaned child that exited stays a zombie
    until the machine's init reaps it, whenever that is (stopped, but listed by ps)."""
    listing = subprocess.run(
        ["ps", "-eo", "pid=,pgid=,stat=,args="], capture_output=True, text=True, check=True
    )
    rows = [line.split(maxsplit=3) for line in listing.stdout.splitlines()]
    return [" ".join(row) for row in rows if row[1] == str(pgid) and not row[2].startswith("Z")]


def still_running(pid: int) -> bool:
    """Neither gone nor a zombie (see processes_in_group)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_detached_service_and_its_children_are_stopped_by_the_recorded_group(private_var: Path) -> None:
    child_pid_file = private_var / "child.pid"
    # A leader with a child of its own, as gunicorn or the LocalExecutor have.
    argv = ["sh", "-c", f"sleep 60 & echo $! > {child_pid_file}; wait"]
    pid = process.start_detached("sleeper", argv, env=os.environ)
    reap_in_background(pid)
    deadline = time.monotonic() + 10
    while not child_pid_file.exists() or not child_pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the detached shell never started its child"
        time.sleep(0.05)
    child = int(child_pid_file.read_text())

    assert process.pid_file("sleeper").read_text().strip() == str(pid)
    assert process.recorded_pid("sleeper") == pid
    assert os.getpgid(pid) == pid  # its own group: stopping it touches nothing else
    assert os.getpgid(child) == pid
    assert "sleep 60" in process.log_file("sleeper").read_text()  # the start is logged

    assert process.stop_group("sleeper", timeout=10) is True

    assert processes_in_group(pid) == []
    assert not still_running(child)
    assert not process.pid_file("sleeper").exists()
    assert process.recorded_pid("sleeper") is None
    assert process.stop_group("sleeper") is False  # nothing left to stop


def test_a_service_this_process_started_is_stopped_without_waiting_out_the_timeout() -> None:
    """A restart within one process (a test switching Airflow's job runtime, a fault test
    restarting a service) stops services that process started: each stays its zombie child
    until reaped, and stop_group once waited its whole timeout for it (45 s a component)."""
    pid = process.start_detached("own-child", ["sleep", "60"], env=os.environ)
    started = time.monotonic()

    assert process.stop_group("own-child", timeout=30) is True

    assert time.monotonic() - started < 5
    assert processes_in_group(pid) == []
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped by stop_group: not even a zombie left


def test_a_stale_pid_file_is_not_taken_for_a_running_service() -> None:
    process.RUN_DIR.mkdir(parents=True)
    # A pid that has exited (and been reaped): the pid file of a crashed service.
    exited = subprocess.Popen(["true"])
    exited.wait()
    process.pid_file("crashed").write_text(f"{exited.pid}\n")

    assert process.recorded_pid("crashed") is None
    assert not process.pid_file("crashed").exists()


def test_a_killed_service_its_parent_has_not_reaped_yet_is_not_taken_for_a_running_one() -> None:
    """A zombie still answers kill(pid, 0): `start` would skip a killed scheduler for it."""
    process.RUN_DIR.mkdir(parents=True)
    killed = subprocess.Popen(["sleep", "60"])
    killed.kill()
    time.sleep(0.2)  # dead, and not reaped: this test is its parent and has not waited yet
    process.pid_file("killed").write_text(f"{killed.pid}\n")
    try:
        assert process.recorded_pid("killed") is None
        assert not process.pid_file("killed").exists()
    finally:
        killed.wait()


# --- steps of `make up` ----------------------------------------------------------------


def test_an_unexpected_error_in_a_step_names_the_step_and_keeps_the_traceback_in_its_log(
    private_var: Path,
) -> None:
    log = private_var / "log" / "warehouse-migrations.log"

    def broken_migration(_stack: Stack) -> None:
        raise KeyError("revision 0007 not found")

    step = stack_cli.Step("warehouse schema", broken_migration, log)
    with pytest.raises(StackError) as raised:
        stack_cli.run_step(step, a_stack())

    message = str(raised.value)
    assert message.startswith("warehouse schema failed: KeyError")
    assert f"the traceback is in its log: {log}" in message
    logged = log.read_text()
    assert "Traceback (most recent call last)" in logged
    assert "broken_migration" in logged


def test_a_stack_error_without_a_log_gets_the_steps_log(private_var: Path) -> None:
    log = private_var / "log" / "postgres.log"

    def failing(_stack: Stack) -> None:
        raise StackError("psql failed: role does not exist")

    with pytest.raises(StackError) as raised:
        stack_cli.run_step(stack_cli.Step("postgres", failing, log), a_stack())

    assert str(raised.value) == f"postgres failed: psql failed: role does not exist\n  see its log: {log}"


def test_a_stack_error_that_names_its_log_is_not_given_a_second_one(private_var: Path) -> None:
    component_log = private_var / "log" / "airflow-scheduler.log"

    def failing(_stack: Stack) -> None:
        raise StackError(f"airflow-scheduler did not become healthy; see its log: {component_log}")

    step = stack_cli.Step("airflow", failing, private_var / "log" / "airflow-cli.log")
    with pytest.raises(StackError) as raised:
        stack_cli.run_step(step, a_stack())

    assert (
        str(raised.value)
        == f"airflow failed: airflow-scheduler did not become healthy; see its log: {component_log}"
    )


# --- one-off airflow commands ----------------------------------------------------------


@pytest.fixture
def fake_airflow_cli(private_var: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`airflow` replaced by sh, so run_cli's handling of output and failures shows."""
    log = private_var / "log" / "airflow-cli.log"
    monkeypatch.setattr(airflow, "CLI_LOG", log)
    monkeypatch.setattr(airflow, "_airflow_bin", lambda: "sh")
    return log


def test_a_failing_airflow_command_names_the_command_and_its_log(fake_airflow_cli: Path) -> None:
    with pytest.raises(StackError) as raised:
        airflow.run_cli(a_stack(), "-c", "echo alembic.util.exc.CommandError: cannot upgrade; exit 3")

    message = str(raised.value)
    assert "failed (exit code 3)" in message
    assert f"see its log: {fake_airflow_cli}" in message
    assert "cannot upgrade" in message
    assert "cannot upgrade" in fake_airflow_cli.read_text()


def test_an_airflow_command_that_hangs_is_stopped_and_names_its_log(fake_airflow_cli: Path) -> None:
    with pytest.raises(StackError) as raised:
        airflow.run_cli(a_stack(), "-c", "sleep 30", timeout=0.5)

    assert f"did not finish within 0.5s; see its log: {fake_airflow_cli}" in str(raised.value)


def test_a_successful_airflow_command_keeps_its_output_in_the_log(fake_airflow_cli: Path) -> None:
    airflow.run_cli(a_stack(), "-c", "echo Database migrating done!")
    assert "Database migrating done!" in fake_airflow_cli.read_text()


def test_a_private_file_is_readable_by_its_owner_only_even_when_it_existed(tmp_path: Path) -> None:
    earlier = tmp_path / "log" / "service.log"
    earlier.parent.mkdir()
    earlier.write_text("from an older start\n")
    earlier.chmod(0o644)
    assert process.private_file(earlier).stat().st_mode & 0o777 == 0o600
    assert earlier.read_text() == "from an older start\n"  # kept: logs are appended to

    process.write_private(tmp_path / "new" / "airflow.cfg", "[core]\n")
    assert (tmp_path / "new" / "airflow.cfg").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new" / "airflow.cfg").read_text() == "[core]\n"


def test_a_detached_service_logs_to_a_private_file(tmp_path: Path) -> None:
    pid = process.start_detached("quiet", ["true"], env=os.environ)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    assert process.log_file("quiet").stat().st_mode & 0o777 == 0o600


def _state(pid: int) -> str:
    """The process's state letter in /proc (T: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_paused_stops_the_service_group_for_the_block_and_always_continues_it() -> None:
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        seen_paused: list[str] = []

        def fail_while_paused() -> None:
            with process.paused(child.pid):
                deadline = time.monotonic() + 5
                while _state(child.pid) != "T" and time.monotonic() < deadline:
                    time.sleep(0.05)
                seen_paused.append(_state(child.pid))
                raise RuntimeError("fault while paused")

        with pytest.raises(RuntimeError, match="fault"):
            fail_while_paused()
        assert seen_paused == ["T"]
        deadline = time.monotonic() + 5
        while _state(child.pid) == "T" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(child.pid) in ("S", "R")  # continued: sleeping, or about to
    finally:
        child.kill()
        child.wait()
