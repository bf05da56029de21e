"""The logistic fail model: each documented driver moves the probability the documented way."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from include.markets_ops.synthetic import fail_model

DOC = Path(__file__).resolve().parents[4] / "docs" / "synthetic-data.md"


def _baseline(n: int = 1) -> fail_model.Drivers:
    return fail_model.Drivers(
        counterparty_propensity=np.zeros(n),
        liquidity_tier=np.ones(n, dtype=int),
        ssi_status=np.zeros(n, dtype=int),
        not_confirmed=np.zeros(n, dtype=bool),
        not_allocated=np.zeros(n, dtype=bool),
        cross_border=np.zeros(n, dtype=bool),
        notional_usd=np.full(n, 500_000.0),
        holiday_in_window=np.zeros(n, dtype=bool),
        late_booking=np.zeros(n, dtype=bool),
        asset_class=np.zeros(n, dtype=int),
    )


RISKIER = {
    "counterparty_propensity": np.array([1.0]),
    "liquidity_tier": np.array([3]),
    "ssi_status": np.array([2]),
    "not_confirmed": np.array([True]),
    "not_allocated": np.array([True]),
    "cross_border": np.array([True]),
    "notional_usd": np.array([50_000_000.0]),
    "holiday_in_window": np.array([True]),
    "late_booking": np.array([True]),
    "asset_class": np.array([2]),  # corporate bonds
}


@pytest.mark.parametrize("driver", sorted(RISKIER))
def test_each_driver_raises_the_fail_probability(driver: str) -> None:
    base = fail_model.fail_probability(_baseline())[0]
    riskier = fail_model.fail_probability(replace(_baseline(), **{driver: RISKIER[driver]}))[0]
    assert riskier > base


def test_the_baseline_trade_fails_with_the_intercept_probability() -> None:
    expected = 1 / (1 + np.exp(-fail_model.COEFFICIENTS.intercept))
    assert fail_model.fail_probability(_baseline())[0] == pytest.approx(expected)


def test_trade_size_counts_decades_above_one_million_capped_at_two() -> None:
    decades = fail_model.size_decades(np.array([1e5, 1e6, 1e7, 1e8, 1e10]))
    assert decades.tolist() == pytest.approx([0.0, 0.0, 1.0, 2.0, 2.0])


def test_fail_reasons_follow_the_driver_that_raised_the_odds() -> None:
    rng = np.random.default_rng(1)
    n = 5000
    missing_ssi = replace(_baseline(n), ssi_status=np.full(n, 2))
    reasons = fail_model.draw_fail_reasons(rng, missing_ssi)
    names = np.array(fail_model.FAIL_REASONS)[reasons]
    assert set(names) == {"counterparty_fail", "missing_ssi"}
    assert (names == "missing_ssi").mean() > 0.7


def test_every_coefficient_is_documented_with_its_value() -> None:
    text = DOC.read_text()
    for field in fields(fail_model.Coefficients):
        value = getattr(fail_model.COEFFICIENTS, field.name)
        assert f"`{field.name}`" in text, field.name
        assert f"{value:+.2f}" in text, (field.name, value)
