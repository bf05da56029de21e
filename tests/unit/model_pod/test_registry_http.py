"""The registry over HTTP: a server that does not answer fails the lookup after a bounded
number of bounded attempts, naming MLflow."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from settlement_model import registry_http, timeouts


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[int]]]:
    """A port that accepts connections and never answers; the list counts the connections."""
    accepted: list[int] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    kept: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            kept.append(connection)
            accepted.append(1)

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1], accepted
    listener.close()
    for connection in kept:
        connection.close()


def test_the_bounds_are_mlflows_own() -> None:
    assert registry_http.TIMEOUT_SECONDS == timeouts.MLFLOW_REQUEST_TIMEOUT_SECONDS == 20
    assert registry_http.ATTEMPTS == 3


def test_a_server_that_does_not_answer_fails_the_lookup_naming_mlflow(
    silent_server: tuple[int, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, accepted = silent_server
    monkeypatch.setattr(registry_http, "TIMEOUT_SECONDS", 0.3)  # the real 20 s, shortened
    monkeypatch.setattr(registry_http, "BACKOFF_SECONDS", 0.0)
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(RuntimeError, match=rf"^MLflow at {uri} failed 3 times: .*timed out"):
        registry_http.Registry(uri).model_version("m", alias="champion")
    assert len(accepted) == 3
