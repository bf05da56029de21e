"""No secret of the running stack on a command line or in a file other users of the machine can read.

Both are readable by anyone logged in: every process's command line (ps, /proc/<pid>/cmdline), and
every file whose mode and folders let others in. The secrets are the checkout's generated ones
(var/secrets.json) and the credentials the stack hands its clients (var/stack.env)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.config import VAR, StackSecrets

SHORTEST_SECRET = 8  # shorter values (a user name, a region) would match by chance


@pytest.fixture(scope="module")
def secrets(stack: dict[str, str]) -> dict[str, str]:
    generated = StackSecrets.load_or_create().values
    handed_out = {key: value for key, value in stack.items() if "PASSWORD" in key or "SECRET" in key}
    every = {**generated, **handed_out}
    found = {name: value for name, value in every.items() if len(value) >= SHORTEST_SECRET}
    assert len(found) >= 10  # the stack's secrets were read
    return found


def command_lines() -> Iterator[tuple[int, str]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:  # gone since the listing
                continue
            yield int(entry.name), raw.replace(b"\0", b" ").decode(errors="replace")


def readable_by_others(root: Path) -> Iterator[Path]:
    """Regular files under root that another user can open: the file readable by others and
    every folder on the way below root searchable by them (a private folder hides all it holds).
    Root's own mode is not trusted: the files below it must hold on their own."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if os.stat(Path(folder, name)).st_mode & stat.S_IXOTH]
        for name in files:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode) and mode & stat.S_IROTH:
                yield path


def test_no_process_has_a_secret_on_its_command_line(secrets: dict[str, str]) -> None:
    exposed = [
        f"pid {pid} shows {name}: {line[:80]}"
        for pid, line in command_lines()
        for name, value in secrets.items()
        if value in line
    ]
    assert exposed == []


def test_no_file_of_the_stack_that_others_can_read_holds_a_secret(secrets: dict[str, str]) -> None:
    checked = 0
    exposed = []
    for path in readable_by_others(VAR):
        checked += 1
        with path.open("rb") as stream:
            content = stream.read(64 * 1024 * 1024).decode(errors="replace")
        held = [name for name, value in secrets.items() if value in content]
        exposed += [f"{path.relative_to(VAR)} holds {name}" for name in held]
    assert exposed == []
    assert checked > 0  # the walk reached the stack's public files (its data, pid files)
