"""The true probability that a trade fails to settle on its contractual date: a logistic model.

    logit p_fail = intercept
                 + counterparty fail propensity                  (hidden; shows in its fail history)
                 + liquidity tier effect                          (instrument)
                 + SSI effect                                     (matched / mismatched / missing)
                 + not confirmed by end of booking day
                 + not allocated by end of booking day
                 + cross-border settlement                        (counterparty country vs market)
                 + trade size: per decade of USD notional above 1 million, capped at 2 decades
                 + holiday inside the settlement window           (market calendar)
                 + late booking                                   (trade date before business date)
                 + asset class effect

Every term is known when the trade is scored at the end of its booking day: the trade's own
attributes, its confirmation and allocation status at the end of that day, the calendars, and
the counterparty (whose propensity a model can learn from its observed fail history). So the
Bayes-optimal AUC of a day's trades is the AUC of these probabilities, and a model can get
close to it. docs/synthetic-data.md documents the coefficients and the resulting rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SSI_STATUSES = ("matched", "mismatched", "missing")
FAIL_REASONS = (
    "counterparty_fail",
    "insufficient_securities",
    "ssi_mismatch",
    "missing_ssi",
    "unconfirmed_trade",
    "allocation_pending",
    "cross_border_delay",
    "late_booking",
)


@dataclass(frozen=True)
class Coefficients:
    """Log-odds contributions (see the module docstring)."""

    intercept: float = -4.6
    liquidity_tier_2: float = 0.4
    liquidity_tier_3: float = 1.0
    ssi_mismatched: float = 1.6
    ssi_missing: float = 2.0
    not_confirmed: float = 1.2
    not_allocated: float = 0.8
    cross_border: float = 0.5
    size_per_decade: float = 0.5  # per decade of USD notional above SIZE_FLOOR_USD
    holiday_in_window: float = 0.7
    late_booking: float = 0.9
    government_bond: float = -0.5
    corporate_bond: float = 0.3
    fx: float = -0.3


COEFFICIENTS = Coefficients()
SIZE_FLOOR_USD = 1_000_000.0
SIZE_MAX_DECADES = 2.0
ASSET_CLASS_ORDER = ("equity", "government_bond", "corporate_bond", "fx")


@dataclass(frozen=True)
class Drivers:
    """One entry per trade for each driver (numpy arrays of equal length)."""

    counterparty_propensity: np.ndarray  # float log-odds
    liquidity_tier: np.ndarray  # 1, 2, 3
    ssi_status: np.ndarray  # index into SSI_STATUSES
    not_confirmed: np.ndarray  # bool
    not_allocated: np.ndarray  # bool
    cross_border: np.ndarray  # bool
    notional_usd: np.ndarray  # float
    holiday_in_window: np.ndarray  # bool
    late_booking: np.ndarray  # bool
    asset_class: np.ndarray  # index into ASSET_CLASS_ORDER


def size_decades(notional_usd: np.ndarray) -> np.ndarray:
    """Decades of USD notional above the floor, capped: 0 up to 1m, 1 at 10m, 2 from 100m."""
    return np.clip(np.log10(np.maximum(notional_usd, 1.0) / SIZE_FLOOR_USD), 0.0, SIZE_MAX_DECADES)


def contributions(drivers: Drivers, c: Coefficients = COEFFICIENTS) -> dict[str, np.ndarray]:
    """Each driver's additive log-odds per trade (the intercept excluded)."""
    tier_effect = np.array([0.0, 0.0, c.liquidity_tier_2, c.liquidity_tier_3])
    ssi_effect = np.array([0.0, c.ssi_mismatched, c.ssi_missing])
    asset_effect = np.array([0.0, c.government_bond, c.corporate_bond, c.fx])
    return {
        "counterparty": drivers.counterparty_propensity.astype(float),
        "liquidity": tier_effect[drivers.liquidity_tier],
        "ssi": ssi_effect[drivers.ssi_status],
        "not_confirmed": c.not_confirmed * drivers.not_confirmed,
        "not_allocated": c.not_allocated * drivers.not_allocated,
        "cross_border": c.cross_border * drivers.cross_border,
        "size": c.size_per_decade * size_decades(drivers.notional_usd),
        "holiday": c.holiday_in_window * drivers.holiday_in_window,
        "late_booking": c.late_booking * drivers.late_booking,
        "asset_class": asset_effect[drivers.asset_class],
    }


def fail_probability(drivers: Drivers, c: Coefficients = COEFFICIENTS) -> np.ndarray:
    logit = c.intercept + sum(contributions(drivers, c).values())
    return 1.0 / (1.0 + np.exp(-logit))


def draw_fail_reasons(
    rng: np.random.Generator, drivers: Drivers, c: Coefficients = COEFFICIENTS
) -> np.ndarray:
    """A fail reason per trade (index into FAIL_REASONS), drawn in proportion to how much each
    driver raised that trade's odds of failing; counterparty_fail keeps a base weight, since
    any trade can fail because the counterparty lacks cash or securities."""
    parts = contributions(drivers, c)
    ssi_status = drivers.ssi_status
    weights = np.column_stack(
        [
            0.5 + np.maximum(parts["counterparty"], 0.0),
            parts["liquidity"] + parts["size"],
            np.where(ssi_status == 1, parts["ssi"], 0.0),
            np.where(ssi_status == 2, parts["ssi"], 0.0),
            parts["not_confirmed"],
            parts["not_allocated"],
            parts["cross_border"] + parts["holiday"],
            parts["late_booking"],
        ]
    )
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random(len(weights))[:, None]
    return np.minimum((draws > cumulative).sum(axis=1), len(FAIL_REASONS) - 1)
