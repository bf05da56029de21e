"""Connections are opened with a connect timeout, and one that times out names the server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from include.markets_ops.services import postgres


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (as a paused server does)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_the_timeouts_are_set_unless_the_caller_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    made: list[dict[str, Any]] = []
    monkeypatch.setattr(psycopg, "connect", lambda url, **settings: made.append(settings))
    postgres.connect("postgresql://u@h/db", application_name="x")
    postgres.connect("postgresql://u@h/db", connect_timeout=5, options="-c work_mem=8MB")
    postgres.connect("postgresql://u@h/db", connect_timeout=60, options="-c statement_timeout=4s")
    postgres.connect("postgresql://u@h/db", connect_timeout=0)
    liveness = {
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "tcp_user_timeout": "60000",
    }
    bounded = "-c statement_timeout=30min"
    assert made == [
        {"connect_timeout": "10", **liveness, "application_name": "x", "options": bounded},
        {"connect_timeout": "5", **liveness, "options": f"-c work_mem=8MB {bounded}"},
        # No setting lifts a bound: a longer connect timeout, or 0 (libpq: for ever), is the bound.
        {"connect_timeout": "10", **liveness, "options": "-c statement_timeout=4s"},
        {"connect_timeout": "10", **liveness, "options": bounded},
    ]


def test_a_server_that_does_not_answer_fails_the_connection_naming_it(silent_server: int) -> None:
    import psycopg

    url = f"postgresql://writer:secret@127.0.0.1:{silent_server}/warehouse"  # pragma: allowlist secret
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError) as raised:
        postgres.connect(url, connect_timeout=2)
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert message.startswith(f"PostgreSQL at 127.0.0.1:{silent_server}/warehouse as writer: ")
    assert "secret" not in message
