"""The /kafka page's reads, kept off the api-server's shared worker threads.

The api-server runs one worker process; its sync routes (most of Airflow's own REST API) share
one thread pool. A Kafka read that waits on an unreachable broker used to hold one of those
threads for 10-30 s, and a few dozen such requests starved the REST API. So the reads run here:

- in a small pool of the dashboard's own (READ_THREADS), awaited by an async route with a
  deadline (READ_DEADLINE_SECONDS): the event loop and the shared pool never wait on Kafka;
- one read per (topic, date, key) at a time, however many requests ask for it, its result kept
  for RESULT_TTL_SECONDS (the page shows a topic's latest messages: seconds-old is fine);
- a broker found unreachable (an error, or no answer by the deadline) is remembered for
  UNREACHABLE_TTL_SECONDS, so the requests that follow are answered 503 at once instead of
  queueing reads that would time out too (a successful read clears it);
- at most MAX_PENDING_READS reads waiting: beyond that, 503 (busy) at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

READ_THREADS = 2
READ_DEADLINE_SECONDS = 4.0  # the route's answer, read or 503, within this
RESULT_TTL_SECONDS = 15.0
UNREACHABLE_TTL_SECONDS = 5.0
MAX_PENDING_READS = 8

ReadKey = tuple[str, str | None, str | None]  # topic, business date, message key


class KafkaUnavailableError(RuntimeError):
    """The broker did not answer in time, or the reader is saturated: the route answers 503."""


@dataclass
class _Entry:
    expires: float
    messages: list[Any] | None = None
    error: str | None = None


@dataclass
class KafkaPageReader:
    """Reads a topic's latest messages with ``read(key)`` (blocking, bounded by its own
    timeouts) in the dashboard's pool; caches results and unreachability; coalesces requests."""

    read: Callable[[ReadKey], list[Any]]
    clock: Callable[[], float] = time.monotonic
    _pool: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(READ_THREADS, "dashboard-kafka"),
        repr=False,
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache: dict[ReadKey, _Entry] = field(default_factory=dict, repr=False)
    _in_flight: dict[ReadKey, concurrent.futures.Future[list[Any]]] = field(default_factory=dict, repr=False)
    _unreachable: _Entry | None = field(default=None, repr=False)

    async def messages(self, key: ReadKey, deadline_seconds: float = READ_DEADLINE_SECONDS) -> list[Any]:
        future = self._cached_or_started(key)
        if isinstance(future, list):
            return future
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), deadline_seconds)
        except TimeoutError:
            message = f"Kafka did not answer within {deadline_seconds:g}s (topic {key[0]}); try again soon"
            with self._lock:  # the requests that follow are answered at once
                self._unreachable = _Entry(self.clock() + UNREACHABLE_TTL_SECONDS, error=message)
            raise KafkaUnavailableError(message) from None

    def _cached_or_started(self, key: ReadKey) -> list[Any] | concurrent.futures.Future[list[Any]]:
        now = self.clock()
        with self._lock:
            if self._unreachable and self._unreachable.expires > now:
                raise KafkaUnavailableError(str(self._unreachable.error))
            entry = self._cache.get(key)
            if entry and entry.expires > now and entry.messages is not None:
                return entry.messages
            if key in self._in_flight:
                return self._in_flight[key]
            if len(self._in_flight) >= MAX_PENDING_READS:
                raise KafkaUnavailableError(
                    f"the dashboard is already waiting on {len(self._in_flight)} Kafka reads; try again soon"
                )
            future = self._pool.submit(self._read_and_remember, key)
            self._in_flight[key] = future
            return future

    def _read_and_remember(self, key: ReadKey) -> list[Any]:
        try:
            messages = self.read(key)
        except KafkaUnavailableError as error:
            with self._lock:
                self._unreachable = _Entry(self.clock() + UNREACHABLE_TTL_SECONDS, error=str(error))
            raise
        else:
            with self._lock:
                self._cache[key] = _Entry(self.clock() + RESULT_TTL_SECONDS, messages=messages)
                self._unreachable = None
            return messages
        finally:
            with self._lock:
                self._in_flight.pop(key, None)
                self._drop_expired()

    def _drop_expired(self) -> None:
        now = self.clock()
        for stale in [k for k, entry in self._cache.items() if entry.expires <= now]:
            del self._cache[stale]
