from __future__ import annotations

import datetime as dt

import pytest

from include.markets_ops.synthetic.config import DEMO_DATE, GeneratorConfig, default_epoch


def test_config_round_trips_through_json() -> None:
    config = GeneratorConfig(seed=3, trades_per_day=500).with_break_rates(price_mismatch=0.01)
    assert GeneratorConfig.from_json(config.to_json()) == config
    assert config.break_rate["price_mismatch"] == 0.01


def test_the_demo_world_starts_thirty_business_days_before_the_demo_date() -> None:
    assert dt.date(2026, 10, 30) == DEMO_DATE
    assert default_epoch() == dt.date(2026, 9, 18)  # history: Sep 18 .. Oct 29, 30 NYSE days


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epoch": dt.date(2026, 10, 3)}, "not a XNYS business day"),
        ({"trades_per_day": 0}, "trades_per_day"),
        ({"late_booking_share": 1.5}, "shares and rates"),
        ({"break_rates": (("no_such_break", 0.1),)}, "unknown break types"),
    ],
)
def test_invalid_configs_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**changes)


def test_unknown_keys_are_refused_when_loading() -> None:
    with pytest.raises(ValueError, match="unknown generator config keys"):
        GeneratorConfig.from_json({"seed": 1, "colour": "blue"})
