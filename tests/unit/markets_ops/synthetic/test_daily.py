"""The generator's promises, checked on its output files and truth over a sizeable sample:
determinism, one day as a pure function of the world and the date, calendars, the fail rate,
break rates, below-tolerance differences, break persistence and resolution, outcomes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from include.markets_ops import calendars
from include.markets_ops.synthetic import bookings, daily, reference
from include.markets_ops.synthetic.config import PRICE_TOLERANCE_BP, GeneratorConfig

EPOCH = dt.date(2026, 10, 1)
SAMPLE_DAYS = 14
TRADES_PER_DAY = 20_000
CONFIG = GeneratorConfig(seed=7, epoch=EPOCH, trades_per_day=TRADES_PER_DAY)


def _sigmas(observed: float, expected: float, n: int) -> float:
    """How many binomial standard deviations ``observed`` is from ``expected``."""
    return abs(observed - expected) / np.sqrt(expected * (1 - expected) / n)


@dataclass
class Sample:
    dates: list[dt.date]
    days: list[daily.DayData]
    trades: pd.DataFrame
    statement: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame
    breaks: pd.DataFrame


@pytest.fixture(scope="module")
def sample() -> Sample:
    dates = [calendars.add_business_days(EPOCH, i, "XNYS") for i in range(SAMPLE_DAYS)]
    cache = bookings.BookingsCache(CONFIG)
    days = [daily.build_day(CONFIG, day, cache) for day in dates]

    def frame(name: str) -> pd.DataFrame:
        return pd.concat([getattr(day, name).to_pandas() for day in days], ignore_index=True)

    return Sample(
        dates=dates,
        days=days,
        trades=frame("trades"),
        statement=frame("custodian_confirmations"),
        outcomes=frame("settlement_outcomes"),
        truth=frame("trade_fail_probability"),
        breaks=frame("injected_breaks"),
    )


# --------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_identical_rows() -> None:
    day = dt.date(2026, 10, 6)
    first = daily.build_day(CONFIG, day)
    again = daily.build_day(CONFIG, day)
    for name in ("trades", "custodian_confirmations", "settlement_outcomes", "trade_fail_probability"):
        assert getattr(first, name).equals(getattr(again, name)), name
    assert first.injected_breaks.equals(again.injected_breaks)


def test_another_seed_gives_other_rows() -> None:
    day = dt.date(2026, 10, 6)
    first = daily.build_day(CONFIG, day)
    other = daily.build_day(GeneratorConfig(seed=8, epoch=EPOCH, trades_per_day=TRADES_PER_DAY), day)
    assert not first.trades.equals(other.trades)
    assert first.trades.column("price") != other.trades.column("price")


def test_a_day_generated_alone_equals_the_day_generated_after_its_history(sample: Sample) -> None:
    # The feed generates one day with an empty cache; the seeder after the previous days.
    last = sample.days[-1]
    alone = daily.build_day(CONFIG, last.business_date, bookings.BookingsCache(CONFIG))
    for name in ("trades", "custodian_confirmations", "settlement_outcomes", "injected_breaks"):
        assert getattr(alone, name).equals(getattr(last, name)), name


def test_nothing_is_booked_before_the_epoch(sample: Sample) -> None:
    with pytest.raises(ValueError, match="before the world's epoch"):
        bookings.generate(CONFIG, dt.date(2026, 9, 30))
    assert (sample.trades["business_date"] >= EPOCH).all()
    assert sample.statement["trade_ref"].str[1:9].min() >= EPOCH.strftime("%Y%m%d")


# --------------------------------------------------------------------------- calendars


def test_trades_are_booked_only_in_markets_open_that_day(sample: Sample) -> None:
    instruments = reference.ops_tables(CONFIG)["instruments"].to_pandas().set_index("instrument_id")
    trades = sample.trades.join(instruments["market"], on="instrument_id")
    open_today = trades.apply(lambda t: calendars.is_business_day(t.business_date, t.market), axis=1)
    assert open_today.all()
    # Columbus Day: NYSE open, the Fed closed: no US government bond or FX trade that day.
    columbus = trades[trades["business_date"] == dt.date(2026, 10, 12)]
    assert len(columbus) == TRADES_PER_DAY
    assert not columbus["market"].isin(["USGOV", "FXSPOT"]).any()


def test_settle_dates_follow_each_markets_cycle_on_its_business_days(sample: Sample) -> None:
    instruments = reference.ops_tables(CONFIG)["instruments"].to_pandas().set_index("instrument_id")
    trades = sample.trades.join(instruments["market"], on="instrument_id")
    distinct = trades[["trade_date", "settle_date", "market"]].drop_duplicates()
    for row in distinct.itertuples():
        assert calendars.is_business_day(row.trade_date, row.market)
        assert calendars.is_business_day(row.settle_date, row.market)
        assert row.settle_date == calendars.settle_date(row.trade_date, row.market)


def test_a_small_share_of_trades_is_booked_late(sample: Sample) -> None:
    late = sample.trades["trade_date"] < sample.trades["business_date"]
    assert _sigmas(late.mean(), CONFIG.late_booking_share, len(late)) < 4
    assert (sample.trades["trade_date"] <= sample.trades["business_date"]).all()


# --------------------------------------------------------------------------- fails and outcomes


def test_a_few_percent_of_trades_fail_as_their_probabilities_say(sample: Sample) -> None:
    truth = sample.truth
    realized, expected = truth["failed"].mean(), truth["p_fail"].mean()
    assert 0.02 < realized < 0.05
    assert _sigmas(realized, expected, len(truth)) < 4
    # The probabilities carry signal: fails concentrate where p_fail is high.
    top_decile = truth["p_fail"] >= truth["p_fail"].quantile(0.9)
    assert truth.loc[top_decile, "failed"].mean() > 3 * truth.loc[~top_decile, "failed"].mean()


def test_outcomes_follow_the_drawn_fates(sample: Sample) -> None:
    outcomes, truth = sample.outcomes, sample.truth.set_index("trade_id")
    booked_in_sample = outcomes["trade_id"].isin(truth.index)
    failed = outcomes[(outcomes["outcome"] == "failed") & booked_in_sample]
    assert truth.loc[failed["trade_id"], "failed"].all()
    assert failed["fail_reason"].notna().all()
    settled = outcomes[outcomes["outcome"] == "settled"]
    assert settled["fail_reason"].isna().all()
    assert not outcomes.duplicated(["trade_id", "business_date"]).any()
    # A failed trade settles later: days_late >= 1 on a later business date.
    late = settled.merge(failed, on="trade_id", suffixes=("", "_fail"))
    assert len(late) > 0.5 * len(failed)
    assert (late["days_late"] >= 1).all()
    assert (late["business_date"] > late["business_date_fail"]).all()
    assert (settled.loc[~settled["trade_id"].isin(failed["trade_id"]), "days_late"] == 0).all()


def test_cancelled_trades_never_settle_nor_appear_at_the_custodian(sample: Sample) -> None:
    cancelled = sample.trades.loc[sample.trades["status"] == "cancelled", "trade_id"]
    assert len(cancelled) > 0
    assert not cancelled.isin(sample.outcomes["trade_id"]).any()
    assert not cancelled.isin(sample.statement["trade_ref"]).any()
    assert not cancelled.isin(sample.truth["trade_id"]).any()


# --------------------------------------------------------------------------- custodian statement


BREAK_COLUMNS = ["quantity_mismatch", "price_mismatch", "settle_date_mismatch", "counterparty_mismatch"]


def _statement_vs_trades(sample: Sample) -> pd.DataFrame:
    trades = sample.trades.set_index("trade_id")
    bank = sample.statement[sample.statement["trade_ref"].isin(trades.index)]
    merged = bank.merge(trades, left_on="trade_ref", right_index=True, suffixes=("", "_bank"))
    breaks = sample.breaks.assign(has_break=True).pivot_table(
        index=["business_date", "trade_ref"], columns="break_type", values="has_break", aggfunc="any"
    )
    return merged.join(breaks, on=["business_date", "trade_ref"])


def test_the_statement_lists_open_trades_only(sample: Sample) -> None:
    settled = sample.outcomes[sample.outcomes["outcome"] == "settled"].set_index("trade_id")["business_date"]
    rows = sample.statement[sample.statement["trade_ref"].isin(settled.index)]
    assert (rows["business_date"] < settled.loc[rows["trade_ref"]].to_numpy()).all()
    assert not sample.statement.duplicated(["business_date", "trade_ref"]).any()


def test_each_break_type_is_injected_at_its_configured_rate(sample: Sample) -> None:
    bank_refs = set(sample.trades["trade_id"])
    on_statement = set(sample.statement["trade_ref"]) & bank_refs
    missing = sample.breaks.loc[sample.breaks["break_type"] == "missing_at_custodian", "trade_ref"]
    eligible = on_statement | set(missing)  # every trade that is open at least one day
    for break_type, rate in CONFIG.break_rate.items():
        refs = set(sample.breaks.loc[sample.breaks["break_type"] == break_type, "trade_ref"])
        if break_type == "missing_internal":
            # phantom rows per trade booked, counted by the day they start (in their ref)
            started_in_sample = {ref for ref in refs if ref[1:9] <= sample.dates[-1].strftime("%Y%m%d")}
            observed, n = len(started_in_sample) / len(sample.trades), len(sample.trades)
            assert not started_in_sample & bank_refs
        else:
            observed, n = len(refs) / len(eligible), len(eligible)
        assert _sigmas(observed, rate, n) < 4, (break_type, observed, rate)


def test_breaks_show_in_the_statement_as_their_type_says(sample: Sample) -> None:
    rows = _statement_vs_trades(sample)
    price_bp = (rows["price"].astype(float) / rows["price_bank"].astype(float) - 1).abs() * 1e4
    quantity = rows["quantity"] == rows["quantity_bank"]
    assert not quantity[rows["quantity_mismatch"].fillna(False)].any()
    assert (price_bp[rows["price_mismatch"].fillna(False)] >= 5).all()
    settle = rows[rows["settle_date_mismatch"].fillna(False)]
    assert (settle["settle_date"] != settle["settle_date_bank"]).all()
    counterparty = rows[rows["counterparty_mismatch"].fillna(False)]
    assert (counterparty["counterparty_id"] != counterparty["counterparty_id_bank"]).all()
    assert min(len(settle), len(counterparty)) > 50
    # Rows without a break match the bank exactly, except prices within the tolerance.
    clean = rows[rows[BREAK_COLUMNS].isna().all(axis=1)]
    assert (clean["quantity"] == clean["quantity_bank"]).all()
    assert (clean["settle_date"] == clean["settle_date_bank"]).all()
    assert (clean["counterparty_id"] == clean["counterparty_id_bank"]).all()
    assert (price_bp[clean.index] < PRICE_TOLERANCE_BP).all()
    missing = sample.breaks[sample.breaks["break_type"] == "missing_at_custodian"]
    present = missing.merge(sample.statement, on=["business_date", "trade_ref"])
    assert present.empty


def test_differences_below_the_tolerance_are_present_and_are_not_breaks(sample: Sample) -> None:
    rows = _statement_vs_trades(sample)
    without_break = rows[BREAK_COLUMNS].isna().all(axis=1)
    differs = rows["price"] != rows["price_bank"]
    below = rows[without_break & differs]
    relative_bp = (below["price"].astype(float) / below["price_bank"].astype(float) - 1).abs() * 1e4
    assert len(below) > 1000
    assert (relative_bp < 0.1 * PRICE_TOLERANCE_BP).all()  # well under 1 bp
    # About the configured share of rows (rounding to 6 decimals leaves ~1% of prices unchanged).
    share = len(below) / without_break.sum()
    assert _sigmas(share, CONFIG.below_tolerance_share * 0.99, int(without_break.sum())) < 5
    recorded = below.merge(sample.breaks, on=["business_date", "trade_ref"])
    assert recorded.empty


def test_breaks_persist_over_consecutive_business_days_then_resolve(sample: Sample) -> None:
    index = {day: i for i, day in enumerate(sample.dates)}
    episodes = sample.breaks.assign(day=sample.breaks["business_date"].map(index)).groupby(
        ["trade_ref", "break_type"]
    )["day"]
    spans = episodes.agg(["min", "max", "count"])
    assert ((spans["max"] - spans["min"] + 1) == spans["count"]).all()  # no gaps
    assert (spans["count"] >= 3).sum() > 20  # aging is real
    # Resolved: the trade is still on the statement the day after its last break day, and matches.
    rows = _statement_vs_trades(sample)
    after = spans[spans["max"] < len(sample.dates) - 1].reset_index()
    after["next_day"] = [sample.dates[d + 1] for d in after["max"]]
    followed = after.merge(rows, left_on=["trade_ref", "next_day"], right_on=["trade_ref", "business_date"])
    assert len(followed) > 20
    assert (followed["quantity"] == followed["quantity_bank"]).all()
    assert (followed["counterparty_id"] == followed["counterparty_id_bank"]).all()
    assert (followed["settle_date"] == followed["settle_date_bank"]).all()


# --------------------------------------------------------------------------- derived


def test_the_counterparties_record_per_date_counts_the_days_outcomes(sample: Sample) -> None:
    """What the feed's outcome load aggregates with SQL (insert_counterparty_days.sql), the bulk
    seed takes from the generator: the same counts from the same outcomes and trades."""
    counterparty_of = sample.trades.set_index("trade_id")["counterparty_id"]
    outcomes = sample.outcomes.assign(counterparty_id=sample.outcomes["trade_id"].map(counterparty_of))
    assert outcomes["counterparty_id"].notna().all()  # every outcome's trade was booked in the sample
    outcomes["attempt"] = (outcomes["outcome"] == "failed") | (outcomes["days_late"] == 0)
    outcomes["fail"] = outcomes["outcome"] == "failed"
    expected = (
        outcomes.groupby(["business_date", "counterparty_id"])[["attempt", "fail"]]
        .sum()
        .rename(columns={"attempt": "attempts", "fail": "fails"})
        .reset_index()
        .rename(columns={"business_date": "reported_on"})
    )
    counted = pd.concat(
        [day.counterparty_settlement_days.to_pandas() for day in sample.days], ignore_index=True
    )

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[["reported_on", "counterparty_id", "attempts", "fails"]].astype(
            {"attempts": "int64", "fails": "int64"}
        )
        return rows.sort_values(["reported_on", "counterparty_id"]).reset_index(drop=True)

    assert len(expected) > 0
    pd.testing.assert_frame_equal(ordered(counted), ordered(expected))
