"""Reading ahead in a thread keeps the order and does not swallow a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from settlement_model import warehouse


def test_prefetched_batches_come_in_order() -> None:
    with warehouse.prefetched(iter(range(50)), depth=3) as batches:
        assert list(batches) == list(range(50))


def test_a_read_failure_reaches_the_consumer_after_the_good_batches() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("server closed the connection")

    with warehouse.prefetched(failing()) as batches:
        assert [next(batches), next(batches)] == [1, 2]
        with pytest.raises(ConnectionError, match="server closed"):
            next(batches)


def test_leaving_early_stops_the_reader_and_closes_its_source() -> None:
    closed = []

    def endless() -> Iterator[int]:
        try:
            number = 0
            while True:
                number += 1
                yield number
        finally:
            closed.append(True)

    def score_one_then_fail() -> None:
        with warehouse.prefetched(endless()) as batches:
            next(batches)
            raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError, match="scoring failed"):
        score_one_then_fail()
    assert closed == [True]  # the reader finished before the block was left


@pytest.mark.parametrize("name", ["trade_scores_20261120_s000_of_002", "a"])
def test_valid_staging_table_names(name: str) -> None:
    drop, create = warehouse.staging_table_ddl(name, like="ml.trade_scores")
    assert drop == f'DROP TABLE IF EXISTS staging."{name}"'
    assert create.startswith(f'CREATE UNLOGGED TABLE staging."{name}" (LIKE ml.trade_scores')


@pytest.mark.parametrize(
    ("name", "like"),
    [
        ('x"; DROP TABLE ops.trades; --', "ml.trade_scores"),
        ("Upper", "ml.trade_scores"),
        ("ok", "ops.trades"),
    ],
)
def test_anything_else_is_refused(name: str, like: str) -> None:
    with pytest.raises(ValueError, match="staging"):
        warehouse.staging_table_ddl(name, like=like)
