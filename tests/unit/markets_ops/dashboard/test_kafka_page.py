"""The /kafka page's reader: bounded, coalesced, cached, and quick to say the broker is down."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from include.markets_ops.dashboard import kafka_page
from include.markets_ops.dashboard.kafka_page import KafkaPageReader, KafkaUnavailableError

KEY = ("ops.alerts", "2031-07-08", None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_read_per_key_however_many_ask_and_its_result_is_kept_for_a_while() -> None:
    calls: list[Any] = []
    release = threading.Event()

    def read(key: Any) -> list[Any]:
        calls.append(key)
        release.wait(5)
        return [f"message of {key[0]}"]

    clock = Clock()
    reader = KafkaPageReader(read, clock=clock)

    async def ten_requests() -> list[list[Any]]:
        pending = [asyncio.create_task(reader.messages(KEY)) for _ in range(10)]
        await asyncio.sleep(0.2)
        release.set()
        return list(await asyncio.gather(*pending))

    assert asyncio.run(ten_requests()) == [["message of ops.alerts"]] * 10
    assert len(calls) == 1
    asyncio.run(reader.messages(KEY))
    assert len(calls) == 1  # cached
    clock.now += kafka_page.RESULT_TTL_SECONDS + 1
    asyncio.run(reader.messages(KEY))
    assert len(calls) == 2  # expired: read again


def test_a_read_past_the_deadline_is_a_503_and_the_loop_is_never_blocked() -> None:
    release = threading.Event()

    def hung_broker(key: Any) -> list[Any]:
        release.wait(10)
        return []

    reader = KafkaPageReader(hung_broker)

    async def request_while_the_loop_keeps_running() -> tuple[float, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        with pytest.raises(KafkaUnavailableError, match=r"did not answer within 0\.5s"):
            await reader.messages(KEY, deadline_seconds=0.5)
        ticker.cancel()
        return time.monotonic() - started, ticks

    try:
        elapsed, ticks = asyncio.run(request_while_the_loop_keeps_running())
    finally:
        release.set()
    assert elapsed < 1.5
    assert ticks >= 5  # the event loop went on serving while the read hung


def test_an_unreachable_broker_is_remembered_so_the_next_requests_fail_at_once() -> None:
    calls: list[Any] = []
    clock = Clock()

    def unreachable(key: Any) -> list[Any]:
        calls.append(key)
        raise KafkaUnavailableError("Kafka did not answer for topic ops.alerts")

    reader = KafkaPageReader(unreachable, clock=clock)
    with pytest.raises(KafkaUnavailableError):
        asyncio.run(reader.messages(KEY))
    with pytest.raises(KafkaUnavailableError, match="did not answer"):
        asyncio.run(reader.messages(("ops.recon.summary", None, None)))
    assert len(calls) == 1  # the second topic was not even tried
    clock.now += kafka_page.UNREACHABLE_TTL_SECONDS + 1
    with pytest.raises(KafkaUnavailableError):
        asyncio.run(reader.messages(KEY))
    assert len(calls) == 2


def test_pending_reads_are_bounded() -> None:
    release = threading.Event()

    def hung_broker(key: Any) -> list[Any]:
        release.wait(10)
        return []

    reader = KafkaPageReader(hung_broker)

    async def many_distinct_requests() -> list[Any]:
        pending = [
            asyncio.create_task(reader.messages(("ops.alerts", None, str(n)), deadline_seconds=1))
            for n in range(kafka_page.MAX_PENDING_READS + 3)
        ]
        return list(await asyncio.gather(*pending, return_exceptions=True))

    try:
        outcomes = asyncio.run(many_distinct_requests())
    finally:
        release.set()
    busy = [o for o in outcomes if isinstance(o, KafkaUnavailableError) and "already waiting" in str(o)]
    assert len(busy) == 3


def test_a_read_past_the_deadline_marks_the_broker_unreachable_for_a_while() -> None:
    release = threading.Event()
    calls: list[Any] = []

    def hung_broker(key: Any) -> list[Any]:
        calls.append(key)
        release.wait(10)
        return []

    reader = KafkaPageReader(hung_broker)
    try:
        with pytest.raises(KafkaUnavailableError):
            asyncio.run(reader.messages(KEY, deadline_seconds=0.2))
        started = time.monotonic()
        with pytest.raises(KafkaUnavailableError, match=r"did not answer within 0\.2s"):
            asyncio.run(reader.messages(("ops.recon.summary", None, None)))
        assert time.monotonic() - started < 0.1
        assert len(calls) == 1
    finally:
        release.set()
