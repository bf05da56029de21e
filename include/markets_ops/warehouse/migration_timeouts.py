"""The lock and statement timeouts every warehouse migration runs with (set once, in migrations/env.py).

- lock_timeout (default 5s): a statement waiting for a lock also holds up every later statement
  that needs a conflicting lock on the same table (PostgreSQL queues them behind it), so a
  migration stuck behind a long transaction would stall the pipelines' reads and writes for as
  long as it waits. 5 s bounds that stall; a migration that cannot get its lock fails with
  "canceling statement due to lock timeout" and is simply run again at a quieter moment.
  It also bounds a CONCURRENTLY build's waits for older transactions that wrote to the table
  (the retry drops the INVALID index such a failure leaves: concurrent_indexes.py).
- statement_timeout (default 30min): room for the largest index build. Migration 0006 on
  1,000,000 trades (217 MB) took 10 s, its concurrent build reading the table twice, on the
  2-core dev machine at a load average of 36; at that pace 30 min covers about 180 million rows.
  Short enough that a runaway statement cannot run on into the night's batch window unnoticed.

Both are configurable for one run through the environment (WAREHOUSE_MIGRATION_LOCK_TIMEOUT,
WAREHOUSE_MIGRATION_STATEMENT_TIMEOUT), in PostgreSQL's duration syntax with a unit: 500ms, 5s,
2min, 1h. Zero is refused: it would switch the timeout off.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

LOCK_TIMEOUT_ENV = "WAREHOUSE_MIGRATION_LOCK_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "WAREHOUSE_MIGRATION_STATEMENT_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = "5s"
DEFAULT_STATEMENT_TIMEOUT = "30min"

_MILLISECONDS_PER_UNIT = {"ms": 1, "s": 1_000, "min": 60_000, "h": 3_600_000}
_DURATION = re.compile(r"(?P<amount>[0-9]+)(?P<unit>ms|s|min|h)")


class MigrationTimeoutError(ValueError):
    """A timeout setting that is not a positive PostgreSQL duration."""


def duration_ms(name: str, value: str) -> int:
    """The duration in milliseconds; a clear error naming the setting and the rule otherwise."""
    match = _DURATION.fullmatch(value)
    if match is None:
        raise MigrationTimeoutError(
            f"{name}={value!r} is not a PostgreSQL duration with a unit (ms, s, min, h), e.g. 5s or 30min"
        )
    milliseconds = int(match["amount"]) * _MILLISECONDS_PER_UNIT[match["unit"]]
    if milliseconds == 0:
        raise MigrationTimeoutError(f"{name}={value!r}: zero switches the timeout off; give a positive one")
    return milliseconds


@dataclass(frozen=True)
class MigrationTimeouts:
    lock_timeout: str
    statement_timeout: str

    def __post_init__(self) -> None:
        lock = duration_ms(LOCK_TIMEOUT_ENV, self.lock_timeout)
        statement = duration_ms(STATEMENT_TIMEOUT_ENV, self.statement_timeout)
        if lock > statement:
            raise MigrationTimeoutError(
                f"{LOCK_TIMEOUT_ENV}={self.lock_timeout!r} exceeds "
                f"{STATEMENT_TIMEOUT_ENV}={self.statement_timeout!r}: a lock wait counts against the "
                "statement timeout, so the lock timeout would never apply"
            )

    def set_statements(self) -> list[str]:
        """SET commands for an offline (--sql) script: session-wide, so they outlast each
        migration's transaction and cover the CONCURRENTLY statements run outside one."""
        return [
            f"SET lock_timeout = '{self.lock_timeout}'",
            f"SET statement_timeout = '{self.statement_timeout}'",
        ]

    def libpq_options(self) -> str:
        """The same settings as connection options: in force from the connection's first
        statement (Alembic's own version-table queries included), and not undone by a rollback."""
        return f"-c lock_timeout={self.lock_timeout} -c statement_timeout={self.statement_timeout}"


def from_environment(environ: Mapping[str, str] | None = None) -> MigrationTimeouts:
    environ = os.environ if environ is None else environ
    return MigrationTimeouts(
        lock_timeout=(environ.get(LOCK_TIMEOUT_ENV) or DEFAULT_LOCK_TIMEOUT).strip(),
        statement_timeout=(environ.get(STATEMENT_TIMEOUT_ENV) or DEFAULT_STATEMENT_TIMEOUT).strip(),
    )
