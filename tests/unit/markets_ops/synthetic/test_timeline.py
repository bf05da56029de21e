"""timeline.per_distinct: a function applied once per distinct row, the same results as per row."""

from __future__ import annotations

import numpy as np
import pytest

from include.markets_ops.synthetic import timeline


@pytest.mark.parametrize(
    "column",
    [
        np.array([20_500, 20_503, 20_500, 20_501, 20_503], dtype=np.int64),  # day numbers
        np.array([3, 0, 6, 3], dtype=np.int8),  # market indexes
        np.array([True, False, True]),
        np.array([-2, 5, -2, 0], dtype=np.int16),
        np.array([0, 1 << 40, 7], dtype=np.int64),  # too wide to count: sorted instead
        np.array(["XLON", "XNYS", "XLON"]),
    ],
)
def test_distinct_values_and_codes_are_those_of_numpy_unique(column: np.ndarray) -> None:
    values, codes = timeline._distinct(column)
    expected_values, expected_codes = np.unique(column, return_inverse=True)
    assert values.dtype == expected_values.dtype
    assert values.tolist() == expected_values.tolist()
    assert codes.tolist() == expected_codes.reshape(-1).tolist()


def test_per_distinct_gives_each_row_its_function_value_calling_once_per_distinct_row() -> None:
    rng = np.random.default_rng(1)
    days = rng.integers(20_000, 20_010, size=5_000)
    markets = rng.integers(0, 7, size=5_000).astype(np.int8)
    late = rng.random(5_000) < 0.5
    rows = list(zip(days.tolist(), markets.tolist(), late.tolist(), strict=True))
    calls = []

    def combine(day: int, market: int, is_late: bool) -> int:
        calls.append((day, market, is_late))
        return day * 100 + market * 10 + int(is_late)

    result = timeline.per_distinct(combine, days, markets, late)

    assert sorted(calls) == sorted(set(rows))  # each distinct row once, with Python scalars
    assert result.tolist() == [day * 100 + market * 10 + int(is_late) for day, market, is_late in rows]
