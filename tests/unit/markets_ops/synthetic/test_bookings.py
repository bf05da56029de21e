"""A booking day pruned to the trades still live later (Bookings.live_on), and the cache that
keeps the window's past days pruned: the same statements and outcomes as whole days give."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from include.markets_ops.synthetic import bookings, daily, timeline
from include.markets_ops.synthetic.config import GeneratorConfig

CONFIG = GeneratorConfig(seed=11, epoch=dt.date(2026, 10, 1), trades_per_day=5_000)
BOOKED = dt.date(2026, 10, 5)


def _has_event_on_or_after(day: bookings.Bookings, index: int) -> np.ndarray:
    """Trades on a statement or with a settlement event on some operations day >= ``index``."""
    later = range(index, index + bookings.LIFECYCLE_WINDOW + 1)
    events = [
        day.on_statement(i) | (day.failed & (day.fail_report_index == i)) | (day.settle_report_index == i)
        for i in later
    ]
    return np.logical_or.reduce(events) & ~day.cancelled


@pytest.mark.parametrize("days_later", [1, 2, 5, 12])
def test_a_day_live_later_keeps_exactly_the_trades_with_events_from_then_on(days_later: int) -> None:
    whole = bookings.generate(CONFIG, BOOKED)
    index = whole.booking_index + days_later
    live = whole.live_on(index)
    expected = np.flatnonzero(_has_event_on_or_after(whole, index))
    assert days_later > 10 or len(expected) > 0  # the early days hold trades still open
    assert len(live) < len(whole)
    assert live.trade_ids().tolist() == whole.trade_ids(expected).tolist()
    for column in ("p_fail", "settle_report_index", "custodian_price_units", "break_type"):
        assert np.array_equal(getattr(live, column), getattr(whole, column)[expected]), column
    # Pruning again to a later day is pruning the whole day to it.
    assert live.live_on(index + 1).trade_ids().tolist() == whole.live_on(index + 1).trade_ids().tolist()


def test_a_day_is_not_pruned_on_its_own_booking_day() -> None:
    whole = bookings.generate(CONFIG, BOOKED)
    with pytest.raises(ValueError, match="not after the booking day"):
        whole.live_on(whole.booking_index)


def test_the_window_keeps_past_days_pruned_and_gives_every_day_whole_when_asked() -> None:
    cache = bookings.BookingsCache(CONFIG)
    later = dt.date(2026, 10, 20)
    window = list(cache.window(later))
    assert window[-1].business_date == later
    assert len(window[-1]) == CONFIG.trades_per_day
    assert all(len(day) < CONFIG.trades_per_day for day in window[:-1])
    assert len(cache.get(BOOKED)) == CONFIG.trades_per_day  # regenerated whole, not the pruned one


def test_a_day_built_after_a_later_one_equals_the_day_built_alone() -> None:
    # The cache holds the past days pruned to the later date: an earlier date needs more rows.
    earlier, later = dt.date(2026, 10, 14), dt.date(2026, 10, 22)
    cache = bookings.BookingsCache(CONFIG)
    daily.build_day(CONFIG, later, cache)
    after_later = daily.build_day(CONFIG, earlier, cache)
    alone = daily.build_day(CONFIG, earlier, bookings.BookingsCache(CONFIG))
    for name in ("custodian_confirmations", "settlement_outcomes", "injected_breaks", "trades"):
        assert getattr(after_later, name).equals(getattr(alone, name)), name
    assert timeline.operations_index(earlier) < timeline.operations_index(later)


def _file_positions(path: Path) -> list[int]:
    with path.open("rb") as file:
        return np.load(file, allow_pickle=False).tolist()  # the first column: position


def test_a_cache_spilled_to_a_folder_builds_the_same_days_and_holds_one_file_per_block(
    tmp_path: Path,
) -> None:
    """The bulk seed's cache keeps its blocks in files, not in memory: the days it builds are
    the same, each block is kept as the next day needs it, and a block evicted leaves no file."""
    assert bookings._TRADE_COLUMNS[0] == "position"
    dates = [timeline.operations_date(timeline.operations_index(BOOKED) + i) for i in range(6)]
    spilled = bookings.BookingsCache(CONFIG, capacity=4 * bookings.block_count(CONFIG), spill_to=tmp_path)
    in_memory = bookings.BookingsCache(CONFIG)
    for date in dates:
        from_files, held = daily.build_day(CONFIG, date, spilled), daily.build_day(CONFIG, date, in_memory)
        for name in ("trades", "custodian_confirmations", "settlement_outcomes", "injected_breaks"):
            assert getattr(from_files, name).equals(getattr(held, name)), (date, name)
        # the blocks kept (a block a day here): the last four booking days' of the window, as files
        booking_days = range(timeline.operations_index(CONFIG.epoch), timeline.operations_index(date) + 1)
        kept = [timeline.operations_date(index) for index in booking_days][-4:]
        assert sorted(path.name for path in tmp_path.iterdir()) == [f"{day:%Y%m%d}-0.npy" for day in kept]
    # The latest day's file: its trades still live the next day, not the whole day.
    next_day = timeline.operations_index(dates[-1]) + 1
    latest = _file_positions(tmp_path / f"{dates[-1]:%Y%m%d}-0.npy")
    assert latest == bookings.generate(CONFIG, dates[-1]).live_on(next_day).position.tolist()
    assert len(latest) < CONFIG.trades_per_day
    # An earlier day's file holds at least those live the next day, at most twice as many.
    earlier = _file_positions(tmp_path / f"{dates[-3]:%Y%m%d}-0.npy")
    live = bookings.generate(CONFIG, dates[-3]).live_on(next_day).position.tolist()
    assert set(live) <= set(earlier)
    assert len(earlier) <= 2 * len(live)
