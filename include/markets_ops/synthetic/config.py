"""The parameters of a synthetic world, and the defaults the local stack and the demo use.

A world is fixed by its GeneratorConfig: every business date's data is a pure function of it
and of the date. The config is stored in ``synthetic.simulation_config`` when a history is
seeded, so that the feed DAG (which generates one day at a time) continues the same world.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR

# Break types injected into the custodian statement. The rate of a type is the probability
# that a trade which appears on the statement gets one break episode of that type (for
# missing_internal: phantom custodian rows per trade booked that day).
DEFAULT_BREAK_RATES: dict[str, float] = {
    "missing_at_custodian": 0.004,
    "missing_internal": 0.002,
    "quantity_mismatch": 0.003,
    "price_mismatch": 0.003,
    "settle_date_mismatch": 0.002,
    "counterparty_mismatch": 0.002,
}

# Reconciliation tolerances the injected differences are designed around (docs/synthetic-data.md).
PRICE_TOLERANCE_BP = 1.0  # a relative price difference up to 1 basis point is not a break
PRICE_MISMATCH_MIN_BP = 5.0  # injected price breaks are at least this far off
PRICE_MISMATCH_MAX_BP = 50.0

# The default world: seed 7, 10,000 trades a day, 30 business days of history.
# DEMO_DATE anchors the default world's epoch (default_epoch(), GeneratorConfig()), so the
# tests, the benchmarks and the generator's CLI get the same, reproducible world whatever
# today is. `make demo` does not use it: it runs the latest business date whose nightly run
# is due (devstack/demo.py; DEMO_DATE=... in the environment picks another) and seeds the
# same seed's history up to that date, so the date moves with the clock while the world's
# rules and statistics stay the same; a later run continues the world it stored.
DEFAULT_SEED = 7
DEFAULT_TRADES_PER_DAY = 10_000
DEFAULT_HISTORY_BUSINESS_DAYS = 30
# Share of malformed rows the simulated upstream systems put in each daily file (the feed DAG's
# bad_row_rate param defaults to it).
DEFAULT_BAD_ROW_RATE = 0.002
DEMO_DATE = dt.date(2026, 10, 30)  # the last NYSE business day of October 2026


def default_epoch(
    demo_date: dt.date = DEMO_DATE, history_business_days: int = DEFAULT_HISTORY_BUSINESS_DAYS
) -> dt.date:
    """The first business date of the demo's world: ``history_business_days`` before the demo date."""
    return calendars.add_business_days(demo_date, -history_business_days, OPERATIONS_CALENDAR)


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines a synthetic world. Frozen and hashable (used as a cache key)."""

    seed: int = DEFAULT_SEED
    # The first business date on which trades are booked: before it the world is empty, so a
    # history seeded from the epoch references no trade it does not contain.
    epoch: dt.date = field(default_factory=default_epoch)
    trades_per_day: int = DEFAULT_TRADES_PER_DAY
    counterparties: int = 200
    instruments: int = 2000
    late_booking_share: float = 0.02  # booked one or two market days after the trade date
    cancel_share: float = 0.005  # cancelled on the booking day: never settles, never on a statement
    # (break type, rate) pairs; a tuple so the config stays hashable.
    break_rates: tuple[tuple[str, float], ...] = tuple(sorted(DEFAULT_BREAK_RATES.items()))
    break_mean_days: float = 3.0  # mean length of a break episode, in business days
    break_max_days: int = 10
    below_tolerance_share: float = 0.08  # statement rows whose price the custodian rounds to 6 dp

    def __post_init__(self) -> None:
        problems = []
        if self.seed < 0:
            problems.append("seed must be >= 0")
        if not calendars.is_business_day(self.epoch, OPERATIONS_CALENDAR):
            problems.append(f"epoch {self.epoch} is not a {OPERATIONS_CALENDAR} business day")
        if self.trades_per_day < 1:
            problems.append("trades_per_day must be >= 1")
        if self.counterparties < 10 or self.instruments < 100:
            problems.append("at least 10 counterparties and 100 instruments")
        unknown = {name for name, _ in self.break_rates} - set(DEFAULT_BREAK_RATES)
        if unknown:
            problems.append(f"unknown break types {sorted(unknown)}")
        shares = [self.late_booking_share, self.cancel_share, self.below_tolerance_share]
        shares += [rate for _, rate in self.break_rates]
        if any(not 0 <= share < 1 for share in shares):
            problems.append("shares and rates must be in [0, 1)")
        if sum(rate for name, rate in self.break_rates if name != "missing_internal") >= 0.5:
            problems.append("break rates on trades must sum below 0.5")
        if not 1 <= self.break_mean_days <= self.break_max_days:
            problems.append("break_mean_days must be between 1 and break_max_days")
        if problems:
            raise ValueError("invalid generator config: " + "; ".join(problems))

    @property
    def break_rate(self) -> dict[str, float]:
        rates = dict.fromkeys(DEFAULT_BREAK_RATES, 0.0)
        rates.update(dict(self.break_rates))
        return rates

    def with_break_rates(self, **rates: float) -> GeneratorConfig:
        merged = {**self.break_rate, **rates}
        return replace(self, break_rates=tuple(sorted(merged.items())))

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["epoch"] = self.epoch.isoformat()
        values["break_rates"] = dict(self.break_rates)
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any] | str) -> GeneratorConfig:
        data = json.loads(values) if isinstance(values, str) else dict(values)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown generator config keys: {sorted(unknown)}")
        if "epoch" in data:
            data["epoch"] = dt.date.fromisoformat(str(data["epoch"]))
        if "break_rates" in data:
            data["break_rates"] = tuple(sorted(dict(data["break_rates"]).items()))
        return cls(**data)
