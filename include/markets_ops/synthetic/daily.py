"""One business date of the synthetic world: the upstream files and the ground truth.

- trades: the trades booked that day (ops.trades columns; status 'pending' or 'cancelled').
- custodian_confirmations: the custodians' statement of the bank's open trades that day,
  with the breaks active that day applied, price rounding below the tolerance on some rows,
  and phantom rows (missing_internal) for trades the bank never booked.
- settlement_outcomes: the settlement events reported that day ('failed' on the settle date,
  'settled' on time or days later).
- trade_fail_probability, injected_breaks: the truth for the synthetic schema.

All of it is rebuilt from the bookings of the last LIFECYCLE_WINDOW days (a pure function),
block by block (``stream_day``): each booking block's rows of every output are written to a
sink before the next block is generated, so the simulator's memory is one block's whatever the
volume (the feed's simulator, the bulk seed); ``build_day`` collects them into whole tables (the
loader's seed, the tests).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from include.markets_ops.custodians import CUSTODIAN_OF_LOCATION
from include.markets_ops.synthetic import bookings as booking_days
from include.markets_ops.synthetic import fail_model, reference, tables, timeline
from include.markets_ops.synthetic.bookings import (
    PRICE_SCALE,
    QUANTITY_SCALE,
    SIDES,
    TRADE_BREAK_TYPES,
    Bookings,
    BookingsCache,
)
from include.markets_ops.synthetic.config import GeneratorConfig
from include.markets_ops.synthetic.random_streams import rng_for

QUANTITY_DIGITS = 4  # ops.trades.quantity numeric(20, 4)
PRICE_DIGITS = 8
OUTCOME_SETTLED, OUTCOME_FAILED = "settled", "failed"
STATEMENT_HOUR_UTC = 22  # custodian statements arrive after the close, 22:00-23:00 UTC


@dataclass(frozen=True)
class DayData:
    business_date: dt.date
    trades: pa.Table
    custodian_confirmations: pa.Table
    settlement_outcomes: pa.Table
    trade_fail_probability: pa.Table
    injected_breaks: pa.Table
    # Derived, not delivered: what the feed's outcome load aggregates into
    # ops.counterparty_settlement_days, for the bulk seed to write directly.
    counterparty_settlement_days: pa.Table

    def row_counts(self) -> dict[str, int]:
        return {
            "trades": self.trades.num_rows,
            "custodian_confirmations": self.custodian_confirmations.num_rows,
            "settlement_outcomes": self.settlement_outcomes.num_rows,
            "trade_fail_probability": self.trade_fail_probability.num_rows,
            "injected_breaks": self.injected_breaks.num_rows,
        }


class DaySink(Protocol):
    """Receives a day's rows as ``stream_day`` makes them: ``name`` is a DayData table's name."""

    def write(self, name: str, rows: pa.Table) -> None: ...


class _Collected:
    def __init__(self) -> None:
        self.pieces: defaultdict[str, list[pa.Table]] = defaultdict(list)

    def write(self, name: str, rows: pa.Table) -> None:
        self.pieces[name].append(rows)

    def table(self, name: str) -> pa.Table:
        return pa.concat_tables(self.pieces[name])


def build_day(config: GeneratorConfig, business_date: dt.date, cache: BookingsCache | None = None) -> DayData:
    """Everything the upstream systems deliver for ``business_date``, and its truth, as whole tables."""
    collected = _Collected()
    counterparty_days = stream_day(config, business_date, collected, cache or BookingsCache(config))
    return DayData(
        business_date=business_date,
        trades=collected.table("trades"),
        custodian_confirmations=collected.table("custodian_confirmations"),
        settlement_outcomes=collected.table("settlement_outcomes"),
        trade_fail_probability=collected.table("trade_fail_probability"),
        injected_breaks=collected.table("injected_breaks"),
        counterparty_settlement_days=counterparty_days,
    )


def stream_day(
    config: GeneratorConfig,
    business_date: dt.date,
    sink: DaySink,
    cache: BookingsCache,
    trades_of: Callable[[Bookings], pa.Table] | None = None,
) -> pa.Table:
    """Write ``business_date``'s rows to ``sink``, one booking block at a time, oldest day first
    (each output's rows in the order ``build_day`` joins them); returns the day's outcomes per
    counterparty (counted over every block). ``trades_of``: the trades' rows of a block booked
    that day (default ``trades_table``: as the upstream file has them)."""
    if cache.config != config:
        raise ValueError("the bookings cache belongs to another world")
    index = timeline.operations_index(business_date)
    # One stream for the statement's arrival times, drawn row after row across the blocks.
    statement_rng = rng_for(config.seed, "statement", timeline.day_number(business_date))
    counts = _CounterpartyCounts(config)
    for bookings in cache.window(business_date):
        if bookings.business_date == business_date:
            sink.write("trades", (trades_of or trades_table)(bookings))
            sink.write("trade_fail_probability", _fail_truth(bookings))
        part, break_refs, break_names = _open_trades(bookings, index)
        sink.write("custodian_confirmations", _statement_table(config, business_date, part, statement_rng))
        sink.write("injected_breaks", _breaks_table(business_date, break_refs, break_names))
        sink.write("settlement_outcomes", _outcomes(business_date, bookings))
        counts.add(bookings, index)
    phantoms = _phantom_rows(config, business_date)
    sink.write("custodian_confirmations", _statement_table(config, business_date, phantoms, statement_rng))
    sink.write(
        "injected_breaks",
        _breaks_table(
            business_date, phantoms.trade_ref, np.full(len(phantoms.trade_ref), "missing_internal")
        ),
    )
    return counts.table(business_date)


# --------------------------------------------------------------------------- trades


def trades_table(day: Bookings) -> pa.Table:
    ref = reference.of(day.config)
    instrument = day.instrument.astype(np.int64)
    market = day.market.astype(np.int64)
    desks = [reference.DESK_OF_MARKET[code] for code in reference.MARKET_CODES]
    # Books are <market's prefix>-0<book number 1-9>: one name per (market, book) pair.
    books = [
        f"{reference.BOOK_PREFIX[code]}-0{book}" for code in reference.MARKET_CODES for book in range(10)
    ]
    n = len(day)
    return pa.table(
        {
            "trade_id": tables.strings(day.trade_ids()),
            "business_date": tables.dates(np.full(n, timeline.day_number(day.business_date))),
            "trade_date": tables.dates(day.trade_day),
            "settle_date": tables.dates(day.settle_day),
            "desk": tables.labels(desks, market),
            "book": tables.labels(books, market * 10 + day.book),
            "instrument_id": tables.labels(ref.instrument_id, instrument),
            "side": tables.labels(SIDES, day.side),
            "quantity": tables.decimals(day.quantity_units, QUANTITY_DIGITS),
            "price": tables.decimals(day.price_units, PRICE_DIGITS),
            "notional": tables.decimals(day.notional_cents, 2),
            "currency": tables.labels(reference.CURRENCY_CODES, ref.instrument_currency[instrument]),
            "counterparty_id": tables.labels(ref.counterparty_id, day.counterparty),
            "settlement_location": tables.labels(ref.market_location, market),
            "ssi_status": tables.labels(fail_model.SSI_STATUSES, day.ssi_status),
            "booked_at": tables.timestamps(day.booked_at_us),
            "confirmed_at": tables.timestamps(day.confirmed_at_us),
            "allocated_at": tables.timestamps(day.allocated_at_us),
            "status": tables.labels(
                (booking_days.STATUS_PENDING, booking_days.STATUS_CANCELLED), day.cancelled
            ),
        }
    )


def status_once_reported(day: Bookings, reported_days: np.ndarray) -> pa.Array:
    """Each trade's status of ``day`` once the settlement events of the operations days
    ``reported_days`` are loaded, as the loader leaves it (the outcome of its latest event:
    refresh_loaded_status.sql): cancelled stays cancelled; a 'settled' event comes after the
    'failed' one of the same trade, so it wins; with no event reported, pending."""
    settled = ~day.cancelled & np.isin(day.settle_report_index, reported_days)
    failed = ~day.cancelled & ~settled & day.failed & np.isin(day.fail_report_index, reported_days)
    codes = np.select([day.cancelled, settled, failed], [1, 2, 3], default=0)
    names = (booking_days.STATUS_PENDING, booking_days.STATUS_CANCELLED, OUTCOME_SETTLED, OUTCOME_FAILED)
    return tables.labels(names, codes)


def _fail_truth(day: Bookings) -> pa.Table:
    """p_fail and the drawn outcome of every trade that can settle (cancelled ones cannot)."""
    keep = np.flatnonzero(~day.cancelled)
    return pa.table(
        {
            "trade_id": tables.strings(day.trade_ids(keep)),
            "business_date": tables.dates(np.full(len(keep), timeline.day_number(day.business_date))),
            "p_fail": pa.array(day.p_fail[keep], type=pa.float64()),
            "failed": pa.array(day.failed[keep], type=pa.bool_()),
        }
    )


# --------------------------------------------------------------------------- outcomes


def _outcomes(business_date: dt.date, day: Bookings) -> pa.Table:
    """The settlement events of ``day``'s trades reported on ``business_date``: fails, then settlements."""
    index = timeline.operations_index(business_date)
    failing = np.flatnonzero(day.failed & (day.fail_report_index == index))
    settling = np.flatnonzero(~day.cancelled & (day.settle_report_index == index))
    settled_days = np.concatenate([np.full(len(failing), -1), day.settled_day[settling]])
    reasons = np.concatenate(
        [np.array(fail_model.FAIL_REASONS)[day.fail_reason[failing]], np.full(len(settling), "")]
    ).astype(str)
    outcome = np.concatenate([np.full(len(failing), OUTCOME_FAILED), np.full(len(settling), OUTCOME_SETTLED)])
    return pa.table(
        {
            "trade_id": tables.strings(np.concatenate([day.trade_ids(failing), day.trade_ids(settling)])),
            "business_date": tables.dates(np.full(len(settled_days), timeline.day_number(business_date))),
            "outcome": tables.strings(outcome),
            "settled_date": pa.array(settled_days.astype(np.int32), type=pa.date32(), mask=settled_days < 0),
            "days_late": pa.array(
                np.concatenate([np.zeros(len(failing), np.int16), day.days_late[settling].astype(np.int16)]),
                type=pa.int16(),
            ),
            "fail_reason": pa.array(reasons, type=pa.string(), mask=reasons == ""),
        }
    )


class _CounterpartyCounts:
    """The day's outcomes per counterparty, as feed/settlement_outcomes/insert_counterparty_days.sql
    counts them: attempts (a failure, or an on-time settlement) and fails, for each counterparty
    with an outcome reported today (the same events as _outcomes), summed over the blocks."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.ref = reference.of(config)
        self.outcomes, self.attempts, self.fails = (
            np.zeros(self.ref.counterparty_count, np.int64) for _ in range(3)
        )

    def add(self, day: Bookings, index: int) -> None:
        failing = day.failed & (day.fail_report_index == index)
        settling = ~day.cancelled & (day.settle_report_index == index)
        on_time = settling & (day.days_late == 0)
        size = self.ref.counterparty_count
        self.outcomes += np.bincount(day.counterparty[failing | settling], minlength=size)
        self.attempts += np.bincount(day.counterparty[failing | on_time], minlength=size)
        self.fails += np.bincount(day.counterparty[failing], minlength=size)

    def table(self, business_date: dt.date) -> pa.Table:
        reported = np.flatnonzero(self.outcomes)
        return pa.table(
            {
                "reported_on": tables.dates(np.full(len(reported), timeline.day_number(business_date))),
                "counterparty_id": tables.labels(self.ref.counterparty_id, reported),
                "attempts": pa.array(self.attempts[reported], type=pa.int64()),
                "fails": pa.array(self.fails[reported], type=pa.int64()),
            }
        )


# --------------------------------------------------------------------------- custodian statement


@dataclass
class _StatementPart:
    trade_ref: np.ndarray
    instrument: np.ndarray
    side: np.ndarray
    quantity_units: np.ndarray
    price_units: np.ndarray
    settle_day: np.ndarray
    counterparty: np.ndarray
    market: np.ndarray


def _open_trades(day: Bookings, index: int) -> tuple[_StatementPart, np.ndarray, np.ndarray]:
    """The day's trades on the statement of operations day ``index``, as the custodian has them."""
    open_rows = np.flatnonzero(day.on_statement(index))
    active = day.break_active(index)[open_rows]
    kind = np.where(active, day.break_type[open_rows], -1)
    named_kind = {name: kind == TRADE_BREAK_TYPES.index(name) for name in TRADE_BREAK_TYPES}

    price = day.price_units[open_rows]
    rounding = booking_days.CUSTODIAN_PRICE_ROUNDING
    rounded = np.round(price / rounding).astype(np.int64) * rounding
    price = np.where(day.custodian_rounds_price[open_rows], rounded, price)
    price = np.where(named_kind["price_mismatch"], day.custodian_price_units[open_rows], price)
    quantity = np.where(
        named_kind["quantity_mismatch"],
        day.custodian_quantity_units[open_rows],
        day.quantity_units[open_rows],
    )
    settle = np.where(
        named_kind["settle_date_mismatch"], day.custodian_settle_day[open_rows], day.settle_day[open_rows]
    )
    counterparty = np.where(
        named_kind["counterparty_mismatch"],
        day.custodian_counterparty[open_rows],
        day.counterparty[open_rows],
    )
    refs = day.trade_ids(open_rows)
    reported = ~named_kind["missing_at_custodian"]
    part = _StatementPart(
        trade_ref=refs[reported],
        instrument=day.instrument[open_rows][reported],
        side=day.side[open_rows][reported],
        quantity_units=quantity[reported],
        price_units=price[reported],
        settle_day=settle[reported],
        counterparty=counterparty[reported],
        market=day.market[open_rows][reported],
    )
    with_break = kind >= 0
    names = np.array(TRADE_BREAK_TYPES)[kind[with_break]]
    return part, refs[with_break], names


def phantom_episodes(config: GeneratorConfig, start: dt.date) -> dict[str, np.ndarray]:
    """Custodian rows for trades the bank never booked (missing_internal), starting on ``start``.

    Their number is a binomial draw over the day's bookings; each lasts a geometric number of
    business days. Ref format T<start date>X<sequence>: never a bank trade id.
    """
    ref = reference.of(config)
    rng = rng_for(config.seed, "phantoms", timeline.day_number(start))
    count = int(rng.binomial(config.trades_per_day, config.break_rate["missing_internal"]))
    instrument = rng.choice(
        ref.instrument_count, size=count, p=ref.instrument_weight / ref.instrument_weight.sum()
    )
    market = ref.instrument_market[instrument]
    start_day = timeline.day_number(start)
    quantity = (np.round(rng.lognormal(np.log(2000.0), 1.0, count) / 100) + 1) * 100 * QUANTITY_SCALE
    price = ref.instrument_base_price[instrument] * np.exp(0.01 * rng.standard_normal(count))
    return {
        "trade_ref": booking_days.prefixed_sequence(f"T{start:%Y%m%d}X", np.arange(count) + 1, 6),
        "instrument": instrument,
        "side": (rng.random(count) < 0.5).astype(np.int8),
        "quantity_units": quantity.astype(np.int64),
        "price_units": np.round(price * PRICE_SCALE).astype(np.int64),
        "settle_day": timeline.per_distinct(
            lambda m: timeline.settle_day(start_day, reference.MARKET_CODES[m]), market
        )
        if count
        else np.array([], dtype=np.int64),
        "counterparty": rng.integers(ref.counterparty_count, size=count),
        "market": market,
        "days": np.minimum(rng.geometric(1.0 / config.break_mean_days, size=count), config.break_max_days),
    }


def _phantom_rows(config: GeneratorConfig, business_date: dt.date) -> _StatementPart:
    index = timeline.operations_index(business_date)
    collected: list[dict[str, np.ndarray]] = []
    for start_index in range(index - config.break_max_days + 1, index + 1):
        start = timeline.operations_date(start_index)
        if start < config.epoch:
            continue
        episodes = phantom_episodes(config, start)
        active = index < start_index + episodes["days"]
        collected.append({key: values[active] for key, values in episodes.items()})
    return _StatementPart(
        **{
            field: np.concatenate([c[field] for c in collected])
            if collected
            else np.array([], dtype=np.int64)
            for field in _StatementPart.__dataclass_fields__
        }
    )


def _statement_table(
    config: GeneratorConfig, business_date: dt.date, part: _StatementPart, rng: np.random.Generator
) -> pa.Table:
    ref = reference.of(config)
    n = len(part.trade_ref)
    instrument = part.instrument.astype(np.int64)
    market = part.market.astype(np.int64)
    custodians = [CUSTODIAN_OF_LOCATION[str(location)] for location in ref.market_location]
    midnight_us = timeline.day_number(business_date) * 86_400 * 10**6
    received = midnight_us + ((STATEMENT_HOUR_UTC + rng.random(n)) * 3600 * 10**6).astype(np.int64)
    return pa.table(
        {
            "business_date": tables.dates(np.full(n, timeline.day_number(business_date))),
            "trade_ref": tables.strings(part.trade_ref),
            "custodian": tables.labels(custodians, market),
            "instrument_id": tables.labels(ref.instrument_id, instrument),
            "side": tables.labels(SIDES, part.side),
            "quantity": tables.decimals(part.quantity_units, QUANTITY_DIGITS),
            "price": tables.decimals(part.price_units, PRICE_DIGITS),
            "settle_date": tables.dates(part.settle_day),
            "counterparty_id": tables.labels(ref.counterparty_id, part.counterparty),
            "settlement_location": tables.labels(ref.market_location, market),
            "received_at": tables.timestamps(received),
        }
    )


def _breaks_table(business_date: dt.date, refs: np.ndarray, names: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "business_date": tables.dates(np.full(len(refs), timeline.day_number(business_date))),
            "trade_ref": tables.strings(refs),
            "break_type": tables.strings(names),
        }
    )
