"""The trades booked on one business date, with their whole lifecycle decided up front.

Everything about a trade is drawn when it is booked, from the random stream of its booking
date: its attributes, its true fail probability and outcome, when it settles, and how the
custodian will report it (breaks, rounding). Later days read these facts back by
regenerating the booking day (a pure function), never from state kept in memory, which is
what lets the feed generate any single day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from include.markets_ops import calendars
from include.markets_ops.synthetic import fail_model, reference, timeline
from include.markets_ops.synthetic.config import (
    PRICE_MISMATCH_MAX_BP,
    PRICE_MISMATCH_MIN_BP,
    GeneratorConfig,
)
from include.markets_ops.synthetic.random_streams import rng_for

# A booking day is drawn in blocks of this many trades, each block from its own random stream,
# so the simulator holds one block at a time whatever the volume (its memory stays flat as the
# volume grows). Block 0 draws from the day's original stream: a world of at most this many
# trades a day (the demo's, the tests') is the one it was before blocks.
BLOCK_TRADES = 1 << 17
# Operations days from booking to the last event of any trade (settlement reported after the
# longest fail). Checked for every trade generated: a day's statement and outcomes are built
# from the bookings of this many previous days.
LIFECYCLE_WINDOW = 20
MAX_DAYS_LATE = 8
PRICE_SCALE = 10**8  # prices carry 8 decimals (ops.trades.price is numeric(20, 8))
QUANTITY_SCALE = 10**4
CUSTODIAN_PRICE_ROUNDING = 100  # the custodians that round report 6 decimals: 10**8 / 10**6

# Share of the day's trades per market (renormalised over the markets open that day).
MARKET_ACTIVITY = {
    "XNYS": 0.35,
    "USGOV": 0.13,
    "XLON": 0.12,
    "XETR": 0.10,
    "XPAR": 0.10,
    "XICSD": 0.10,
    "FXSPOT": 0.10,
}
# Quantity: (median, log-sd, lot) per asset class; bonds in units of 100 face, FX in base currency.
QUANTITY_MODEL = {
    "equity": (2_000.0, 1.1, 100),
    "government_bond": (20_000.0, 1.0, 100),
    "corporate_bond": (10_000.0, 1.0, 100),
    "fx": (5_000_000.0, 0.9, 1_000),
}
PRICE_NOISE = {"equity": 0.015, "government_bond": 0.003, "corporate_bond": 0.005, "fx": 0.004}
TRADE_BREAK_TYPES = (
    "missing_at_custodian",
    "quantity_mismatch",
    "price_mismatch",
    "settle_date_mismatch",
    "counterparty_mismatch",
)
SIDES = ("BUY", "SELL")
STATUS_PENDING, STATUS_CANCELLED = "pending", "cancelled"


@dataclass(frozen=True)
class Bookings:
    """Trades booked on ``business_date``: all of them, or those still live on a later day
    (``live_on``); one row per trade in every array, in the order they were booked."""

    config: GeneratorConfig
    business_date: dt.date
    booking_index: int  # operations-day number of the business date
    position: np.ndarray  # the trade's position among the day's bookings (its id's sequence - 1)
    # what the bank books
    instrument: np.ndarray
    counterparty: np.ndarray
    market: np.ndarray
    side: np.ndarray  # 0 BUY, 1 SELL
    trade_day: np.ndarray  # day numbers
    settle_day: np.ndarray
    quantity_units: np.ndarray  # quantity x 10**4
    price_units: np.ndarray  # price x 10**8
    notional_cents: np.ndarray
    ssi_status: np.ndarray  # index into fail_model.SSI_STATUSES
    booked_at_us: np.ndarray  # microseconds since 1970, UTC
    confirmed_at_us: np.ndarray  # -1: not confirmed by the end of the booking day
    allocated_at_us: np.ndarray  # -1: not allocated by the end of the booking day
    book: np.ndarray  # book number within the desk
    cancelled: np.ndarray
    late: np.ndarray
    # the truth
    p_fail: np.ndarray
    failed: np.ndarray
    fail_reason: np.ndarray  # index into fail_model.FAIL_REASONS, -1 when it settles on time
    days_late: np.ndarray
    settled_day: np.ndarray
    fail_report_index: np.ndarray  # operations day of the 'failed' event (failed trades)
    settle_report_index: np.ndarray  # operations day of the 'settled' event
    # how the custodian reports it
    break_type: np.ndarray  # index into TRADE_BREAK_TYPES, -1 none
    break_days: np.ndarray
    custodian_quantity_units: np.ndarray  # the custodian's values while a break is open
    custodian_price_units: np.ndarray
    custodian_settle_day: np.ndarray
    custodian_counterparty: np.ndarray
    custodian_rounds_price: np.ndarray  # below-tolerance difference: price rounded to 6 decimals

    def __len__(self) -> int:
        return len(self.instrument)

    def trade_ids(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Trade ids (T + booking date + 7-digit sequence), for all or some rows."""
        return trade_ids(self.business_date, self.position if rows is None else self.position[rows])

    def live_on(self, index: int) -> Bookings:
        """The trades that can still have an event on operations day ``index`` or later (after
        the booking day): the ones not cancelled whose settlement is not yet reported. Every
        statement and outcome from that day on is built from these rows alone; most of a day's
        trades settle within two or three days, so a window of past days shrinks to a few days'
        worth of rows (the simulator's memory, not its output)."""
        keep = np.flatnonzero(self._live_mask(index))
        return dataclasses.replace(self, **{name: getattr(self, name)[keep] for name in _TRADE_COLUMNS})

    def live_count(self, index: int) -> int:
        """How many trades ``live_on(index)`` keeps, without copying them."""
        return int(np.count_nonzero(self._live_mask(index)))

    def _live_mask(self, index: int) -> np.ndarray:
        if index <= self.booking_index:
            raise ValueError(f"live_on({index}) is not after the booking day {self.booking_index}")
        return ~self.cancelled & (self.settle_report_index >= index)

    def on_statement(self, index: int) -> np.ndarray:
        """Which trades are open (on the custodian's statement) on operations day ``index``:
        booked by then, not cancelled, settlement not yet reported."""
        return (~self.cancelled) & (self.booking_index <= index) & (index < self.settle_report_index)

    def break_active(self, index: int) -> np.ndarray:
        return (self.break_type >= 0) & (index < self.booking_index + self.break_days.astype(np.int32))


# Every per-trade array of Bookings.
_TRADE_COLUMNS = tuple(
    field.name
    for field in dataclasses.fields(Bookings)
    if field.name not in ("config", "business_date", "booking_index")
)


def trade_ids(business_date: dt.date, positions: np.ndarray) -> np.ndarray:
    """T<booking date><7-digit sequence from 1>, e.g. T202610300000042."""
    return prefixed_sequence(f"T{business_date:%Y%m%d}", positions + 1, 7)


def prefixed_sequence(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    if len(numbers) == 0:
        return np.array([], dtype=f"<U{len(prefix) + width}")
    return np.strings.add(prefix, np.strings.zfill(np.asarray(numbers).astype(str), width))


def block_count(config: GeneratorConfig) -> int:
    return max(1, -(-config.trades_per_day // BLOCK_TRADES))


def generate(config: GeneratorConfig, business_date: dt.date) -> Bookings:
    """Every trade booked on ``business_date``: its blocks, joined."""
    return joined([generate_block(config, business_date, block) for block in range(block_count(config))])


def joined(blocks: list[Bookings]) -> Bookings:
    """Bookings of one day (blocks, or parts of them) as one, in the order given."""
    if len(blocks) == 1:
        return blocks[0]
    columns: dict[str, Any] = {
        name: np.concatenate([getattr(b, name) for b in blocks]) for name in _TRADE_COLUMNS
    }
    return dataclasses.replace(blocks[0], **columns)


def generate_block(config: GeneratorConfig, business_date: dt.date, block: int) -> Bookings:
    """Block ``block`` of the trades booked on ``business_date`` (positions BLOCK_TRADES x block
    onwards): a pure function of the config, the date and the block."""
    if business_date < config.epoch:
        raise ValueError(f"{business_date} is before the world's epoch {config.epoch}: nothing is booked")
    first = block * BLOCK_TRADES
    if not 0 <= first < max(config.trades_per_day, 1):
        raise ValueError(f"block {block} is outside a day of {config.trades_per_day} trades")
    day = timeline.day_number(business_date)
    stream_keys = (day,) if block == 0 else (day, block)
    rng = rng_for(config.seed, "bookings", *stream_keys)
    n = min(BLOCK_TRADES, config.trades_per_day - first)
    return _draw_bookings(config, business_date, rng, n, first)


def _draw_bookings(
    config: GeneratorConfig, business_date: dt.date, rng: np.random.Generator, n: int, first: int
) -> Bookings:
    booking_index = timeline.operations_index(business_date)
    ref = reference.of(config)
    day = timeline.day_number(business_date)

    instrument = _draw_instruments(rng, ref, business_date, n)
    market = ref.instrument_market[instrument]
    asset_class = ref.instrument_asset_class[instrument]
    counterparty = rng.choice(
        ref.counterparty_count, size=n, p=ref.counterparty_weight / ref.counterparty_weight.sum()
    ).astype(np.int16)

    late = rng.random(n) < config.late_booking_share
    lag = np.where(late, np.where(rng.random(n) < 0.8, 1, 2), 0)
    # Calendar arithmetic once per distinct (dates, market) row; markets passed as their index.
    codes = reference.MARKET_CODES
    trade_day = timeline.per_distinct(
        lambda lag_days, m: timeline.shift_business_days(day, -lag_days, codes[m]) if lag_days else day,
        lag,
        market,
    )
    settle = timeline.per_distinct(lambda trade, m: timeline.settle_day(trade, codes[m]), trade_day, market)
    holiday = timeline.per_distinct(
        lambda trade, settles, m: timeline.holiday_between(trade, settles, codes[m]),
        trade_day,
        settle,
        market,
        dtype=bool,
    )

    side = (rng.random(n) < 0.5).astype(np.int8)
    quantity_units, lot_units = _draw_quantities(rng, asset_class)
    price_units = _draw_prices(rng, ref, instrument, asset_class)
    notional_cents = np.round(quantity_units.astype(float) * price_units / (QUANTITY_SCALE * 10**6))
    currency = ref.instrument_currency[instrument]
    notional_usd = notional_cents / 100.0 * reference.USD_RATES[currency]

    sector = ref.counterparty_sector[counterparty]
    has_ssi = ref.counterparty_has_ssi[counterparty, ref.market_ssi_key[market]]
    ssi_status = np.where(~has_ssi, 2, np.where(rng.random(n) < 0.03, 1, 0)).astype(np.int8)
    booked_at, confirmed_at, allocated_at = _draw_timestamps(rng, day, sector)
    book = rng.integers(1, 7, size=n).astype(np.int8)
    cancelled = rng.random(n) < config.cancel_share

    cross_border = ref.market_country[market] != ref.counterparty_country[counterparty]
    cross_border &= ref.market_country[market] != "XX"  # CLS settles FX payment-versus-payment
    drivers = fail_model.Drivers(
        counterparty_propensity=ref.counterparty_propensity[counterparty],
        liquidity_tier=ref.instrument_tier[instrument],
        ssi_status=ssi_status,
        not_confirmed=confirmed_at < 0,
        not_allocated=allocated_at < 0,
        cross_border=cross_border,
        notional_usd=notional_usd,
        holiday_in_window=holiday,
        late_booking=late,
        asset_class=asset_class,
    )
    p_fail = fail_model.fail_probability(drivers)
    failed = (rng.random(n) < p_fail) & ~cancelled
    reasons = fail_model.draw_fail_reasons(rng, drivers)
    fail_reason = np.where(failed, reasons, -1).astype(np.int8)
    days_late = np.where(failed, np.minimum(rng.geometric(0.5, size=n), MAX_DAYS_LATE), 0).astype(np.int8)
    settled_day = timeline.per_distinct(
        lambda settles, late_days, m: timeline.shift_business_days(settles, late_days, codes[m]),
        settle,
        days_late.astype(np.int64),
        market,
    )
    fail_report = np.maximum(timeline.reporting_index(settle), booking_index)
    settle_report = np.maximum(timeline.reporting_index(settled_day), booking_index)
    settle_report = np.where(failed, np.maximum(settle_report, fail_report + 1), settle_report)
    last_event = np.where(cancelled, booking_index, settle_report)
    if int(last_event.max()) - booking_index > LIFECYCLE_WINDOW:
        raise AssertionError(f"a trade of {business_date} outlives the lifecycle window")

    breaks = _draw_breaks(
        rng,
        config,
        ref=ref,
        quantity_units=quantity_units,
        lot_units=lot_units,
        price_units=price_units,
        counterparty=counterparty,
    )
    custodian_settle = timeline.per_distinct(
        lambda settles, trade, m, later: _custodian_settle_day(settles, trade, codes[m], later),
        settle,
        trade_day,
        market,
        rng.random(n) < 0.5,
    )
    return Bookings(
        config=config,
        business_date=business_date,
        booking_index=booking_index,
        position=np.arange(first, first + n, dtype=np.int32),
        instrument=instrument.astype(np.int16),
        counterparty=counterparty,
        market=market.astype(np.int8),
        side=side,
        trade_day=trade_day,
        settle_day=settle,
        quantity_units=quantity_units,
        price_units=price_units,
        notional_cents=notional_cents.astype(np.int64),
        ssi_status=ssi_status,
        booked_at_us=booked_at,
        confirmed_at_us=confirmed_at,
        allocated_at_us=allocated_at,
        book=book,
        cancelled=cancelled,
        late=late,
        p_fail=p_fail,
        failed=failed,
        fail_reason=fail_reason,
        days_late=days_late,
        settled_day=settled_day,
        fail_report_index=fail_report.astype(np.int32),
        settle_report_index=settle_report.astype(np.int32),
        custodian_settle_day=custodian_settle,
        **breaks,
    )


def _draw_instruments(
    rng: np.random.Generator, ref: reference.ReferenceData, business_date: dt.date, n: int
) -> np.ndarray:
    """Markets by their share of activity among those open today, then instruments by weight."""
    open_markets = [
        i for i, code in enumerate(reference.MARKET_CODES) if calendars.is_business_day(business_date, code)
    ]
    shares = np.array([MARKET_ACTIVITY[reference.MARKET_CODES[i]] for i in open_markets])
    chosen_market = np.array(open_markets)[rng.choice(len(open_markets), size=n, p=shares / shares.sum())]
    instrument = np.empty(n, dtype=np.int64)
    for market_index in range(len(reference.MARKET_CODES)):
        rows = np.flatnonzero(chosen_market == market_index)
        candidates = np.flatnonzero(ref.instrument_market == market_index)
        weights = ref.instrument_weight[candidates]
        instrument[rows] = candidates[rng.choice(len(candidates), size=len(rows), p=weights / weights.sum())]
    return instrument


def _draw_quantities(rng: np.random.Generator, asset_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(asset_class)
    quantity = np.empty(n, dtype=np.int64)
    lots = np.empty(n, dtype=np.int64)
    raw = rng.standard_normal(n)
    for index, name in enumerate(fail_model.ASSET_CLASS_ORDER):
        rows = asset_class == index
        median, sigma, lot = QUANTITY_MODEL[name]
        amount = np.exp(np.log(median) + sigma * raw[rows])
        quantity[rows] = np.maximum(np.round(amount / lot), 1).astype(np.int64) * lot
        lots[rows] = lot
    return quantity * QUANTITY_SCALE, lots * QUANTITY_SCALE


def _draw_prices(
    rng: np.random.Generator, ref: reference.ReferenceData, instrument: np.ndarray, asset_class: np.ndarray
) -> np.ndarray:
    noise = np.array([PRICE_NOISE[name] for name in fail_model.ASSET_CLASS_ORDER])[asset_class]
    price = ref.instrument_base_price[instrument] * np.exp(noise * rng.standard_normal(len(instrument)))
    return np.round(price * PRICE_SCALE).astype(np.int64)


def _draw_timestamps(
    rng: np.random.Generator, day: int, sector: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Booking between 13:30 and 21:00 UTC; confirmation and allocation minutes later, unless
    they miss the end of the day (then -1, i.e. null)."""
    n = len(sector)
    second = 10**6
    midnight = day * 86_400 * second
    end_of_day = midnight + 86_400 * second - 1
    booked = midnight + ((13.5 + 7.5 * rng.random(n)) * 3600 * second).astype(np.int64)
    slow_confirmers = np.isin(sector, ("hedge_fund", "corporate"))
    unconfirmed = rng.random(n) < np.where(slow_confirmers, 0.12, 0.05)
    confirmed = booked + (rng.exponential(25 * 60, n) * second).astype(np.int64)
    confirmed = np.where(unconfirmed, -1, np.minimum(confirmed, end_of_day))
    block_allocators = np.isin(sector, ("asset_manager", "pension_fund"))
    unallocated = rng.random(n) < np.where(block_allocators, 0.10, 0.02)
    allocated = booked + (rng.exponential(40 * 60, n) * second).astype(np.int64)
    allocated = np.where(unallocated, -1, np.minimum(allocated, end_of_day))
    return booked, confirmed, allocated


def _draw_breaks(
    rng: np.random.Generator,
    config: GeneratorConfig,
    *,
    ref: reference.ReferenceData,
    quantity_units: np.ndarray,
    lot_units: np.ndarray,
    price_units: np.ndarray,
    counterparty: np.ndarray,
) -> dict[str, np.ndarray]:
    """At most one break episode per trade, starting on its first statement day."""
    n = len(quantity_units)
    rates = np.array([config.break_rate[name] for name in TRADE_BREAK_TYPES])
    draw = rng.random(n)
    break_type = np.searchsorted(np.cumsum(rates), draw, side="right")
    break_type = np.where(break_type < len(TRADE_BREAK_TYPES), break_type, -1).astype(np.int8)
    break_days = np.minimum(rng.geometric(1.0 / config.break_mean_days, size=n), config.break_max_days)

    # quantity off by 5-50% of the quantity (at least one lot), in either direction
    step = np.maximum(np.round(quantity_units * rng.uniform(0.05, 0.5, n) / lot_units), 1) * lot_units
    direction = np.where(rng.random(n) < 0.5, -1, 1)
    direction = np.where(quantity_units - step <= 0, 1, direction)
    # price off by 5-50 basis points: far beyond the 1 bp tolerance
    basis_points = rng.uniform(PRICE_MISMATCH_MIN_BP, PRICE_MISMATCH_MAX_BP, n) * np.where(
        rng.random(n) < 0.5, -1, 1
    )
    other_counterparty = (
        counterparty + rng.integers(1, ref.counterparty_count, size=n)
    ) % ref.counterparty_count
    rounds = rng.random(n) < config.below_tolerance_share
    return {
        "break_type": break_type,
        "break_days": break_days.astype(np.int8),
        "custodian_quantity_units": quantity_units + direction * step.astype(np.int64),
        "custodian_price_units": np.round(price_units * (1 + basis_points / 10_000)).astype(np.int64),
        "custodian_counterparty": other_counterparty.astype(np.int16),
        "custodian_rounds_price": rounds,
    }


def _custodian_settle_day(settle: int, trade_day: int, market: str, later: bool) -> int:
    """A settle date one market business day off (never before the trade date)."""
    earlier = timeline.shift_business_days(settle, -1, market)
    if later or earlier < trade_day:
        return timeline.shift_business_days(settle, 1, market)
    return earlier


@dataclass(frozen=True)
class _Kept:
    """A cached block: complete for every operations day from ``complete_from`` (its trades
    live then), held in memory or in a file; ``rows``: its trades."""

    complete_from: int
    held: Bookings | Path
    rows: int


class BookingsCache:
    """The booking blocks a window needs, each kept as its trades still live on the latest day
    asked for (a pure function, so caching is only speed; pruning bounds its size).

    ``capacity`` counts blocks; 0 keeps none: each block is generated when the window reaches it
    and dropped once used, so a day is built holding one block at a time (the simulator's night).
    A cache kept across consecutive days (the bulk seed) generates each booking day once.

    With ``spill_to`` (a private scratch folder) the blocks are kept there, a file each, and only
    the block in use is held: the memory stays flat whatever the volume (the window's live
    trades are a few days' worth, ~130 bytes a trade). Made for consecutive days: a block is
    written as it will be needed the next day (a day asked again is generated again), and
    written again only once pruning has halved it (a file is written at ~250 MB/s here; at 1M
    trades a day, rewriting every block every day cost the generator 1.4 s a day)."""

    def __init__(
        self, config: GeneratorConfig, capacity: int | None = None, spill_to: Path | None = None
    ) -> None:
        self.config = config
        self.capacity = (LIFECYCLE_WINDOW + 2) * block_count(config) if capacity is None else capacity
        self.spill_to = spill_to
        # (booking date, block) -> the block kept; a whole block is complete from its booking day.
        self._blocks: OrderedDict[tuple[dt.date, int], _Kept] = OrderedDict()

    def get(self, business_date: dt.date) -> Bookings:
        """Every trade booked on ``business_date``."""
        return joined([self._live(business_date, block, None) for block in range(block_count(self.config))])

    def window(self, business_date: dt.date) -> Iterator[Bookings]:
        """The blocks of every day whose trades can still have events on ``business_date``,
        oldest day first: each earlier day's as its trades still live then
        (``Bookings.live_on``), then that day's whole. Generated as the iteration reaches them."""
        index = timeline.operations_index(business_date)
        earlier = [timeline.operations_date(i) for i in range(index - LIFECYCLE_WINDOW, index)]
        blocks = range(block_count(self.config))
        for day in earlier:
            if day >= self.config.epoch:
                yield from (self._live(day, block, index) for block in blocks)
        yield from (self._live(business_date, block, None) for block in blocks)

    def _live(self, business_date: dt.date, block: int, index: int | None) -> Bookings:
        """Block ``block`` of ``business_date``'s trades live on operations day ``index`` (None: all)."""
        needed_from = timeline.operations_index(business_date) if index is None else index
        key = (business_date, block)
        kept = self._blocks.pop(key, None)
        if kept is None or kept.complete_from > needed_from:  # not kept, or pruned past what is asked
            kept = None
            bookings = generate_block(self.config, business_date, block)
            complete_from = bookings.booking_index
        else:
            bookings, complete_from = self._read(key, kept), kept.complete_from
        if needed_from > complete_from:
            bookings = bookings.live_on(needed_from)
        self._blocks[key] = self._keep(key, bookings, needed_from, kept)  # the most recently used, last
        while len(self._blocks) > self.capacity:
            _, evicted = self._blocks.popitem(last=False)
            if isinstance(evicted.held, Path):
                evicted.held.unlink()
        return bookings

    def _keep(
        self, key: tuple[dt.date, int], bookings: Bookings, needed_from: int, kept: _Kept | None
    ) -> _Kept:
        """What the cache keeps of ``bookings`` (live on ``needed_from``; ``kept``: what it had)."""
        if self.spill_to is None:
            return _Kept(needed_from, bookings, len(bookings))
        live_tomorrow = bookings.live_count(needed_from + 1)
        if kept is not None and isinstance(kept.held, Path) and 2 * live_tomorrow >= kept.rows:
            return kept  # still complete for tomorrow, and not much larger than needed
        tomorrow = bookings.live_on(needed_from + 1)
        business_date, block = key
        path = self.spill_to / f"{business_date:%Y%m%d}-{block}.npy"
        with path.open("wb") as file:
            for name in _TRADE_COLUMNS:
                np.save(file, getattr(tomorrow, name))
        return _Kept(needed_from + 1, path, len(tomorrow))

    def _read(self, key: tuple[dt.date, int], kept: _Kept) -> Bookings:
        if isinstance(kept.held, Bookings):
            return kept.held
        business_date, _ = key
        with kept.held.open("rb") as file:
            columns = {name: np.load(file, allow_pickle=False) for name in _TRADE_COLUMNS}
        return Bookings(
            config=self.config,
            business_date=business_date,
            booking_index=timeline.operations_index(business_date),
            **columns,
        )
