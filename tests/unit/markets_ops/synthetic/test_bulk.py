"""The bulk seed's pure parts: each trade's status once a stretch's settlement events are
loaded (the loader's rule, replayed here from the events), and the files' columns in their
tables' types. The rows it writes are compared with the loader's in
tests/integration/test_bulk_seed.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from include.markets_ops.feed import sources
from include.markets_ops.synthetic import bulk, daily, seed, timeline
from include.markets_ops.synthetic.bookings import BookingsCache
from include.markets_ops.synthetic.config import GeneratorConfig

CONFIG = GeneratorConfig(seed=5, epoch=dt.date(2026, 9, 1), trades_per_day=3_000)


def _status_by_loading_the_events(days: list[daily.DayData]) -> dict[str, str]:
    """The loader's rule (refresh_loaded_status.sql), day by day: a trade takes the outcome of
    each event loaded for it, unless it is cancelled."""
    status: dict[str, str] = {}
    for day in days:
        status.update(
            zip(
                day.trades.column("trade_id").to_pylist(),
                day.trades.column("status").to_pylist(),
                strict=True,
            )
        )
        for trade_id, outcome in zip(
            day.settlement_outcomes.column("trade_id").to_pylist(),
            day.settlement_outcomes.column("outcome").to_pylist(),
            strict=True,
        ):
            if trade_id in status and status[trade_id] != "cancelled":
                status[trade_id] = outcome
    return status


@pytest.mark.parametrize("skipped", [(), (8, 9)], ids=["consecutive days", "two days left out"])
def test_a_trade_is_written_with_the_status_the_stretchs_events_leave_it_in(skipped: tuple[int, ...]) -> None:
    dates = [date for i, date in enumerate(seed.business_dates(CONFIG.epoch, 25)) if i not in skipped]
    cache = BookingsCache(CONFIG)
    days = [daily.build_day(CONFIG, date, cache) for date in dates]
    reported = [timeline.operations_index(date) for date in dates]

    written: dict[str, str] = {}
    for date in dates:
        bookings = cache.get(date)
        status = daily.status_once_reported(bookings, reported)
        written.update(zip(bookings.trade_ids().tolist(), status.to_pylist(), strict=True))

    expected = _status_by_loading_the_events(days)
    assert written == expected
    # The stretch is long enough for every state to occur, so the comparison covers each rule.
    assert set(expected.values()) == {"pending", "cancelled", "settled", "failed"}


def test_the_files_decimals_become_numbers_of_their_columns_precision_and_scale() -> None:
    file_rows = pa.table(
        {
            "trade_id": ["T1"],
            "business_date": pa.array([dt.date(2026, 9, 1)]),
            "outcome": ["settled"],
            "settled_date": pa.array([dt.date(2026, 9, 3)]),
            "days_late": pa.array([2], pa.int64()),
            "fail_reason": pa.array([None], pa.string()),
            "not_a_column": ["dropped"],
        }
    )
    typed = bulk.typed_for(sources.SETTLEMENT_OUTCOMES, file_rows)
    assert typed.column_names == list(sources.SETTLEMENT_OUTCOMES.columns)
    assert typed.schema.field("days_late").type == pa.int16()

    prices = pa.table({name: ["1"] for name in sources.CUSTODIAN_CONFIRMATIONS.columns})
    prices = prices.set_column(prices.column_names.index("price"), "price", pa.array(["101.12345678"]))
    prices = prices.set_column(prices.column_names.index("quantity"), "quantity", pa.array(["2500.0000"]))
    for name in ("business_date", "settle_date"):
        prices = prices.set_column(prices.column_names.index(name), name, pa.array([dt.date(2026, 9, 1)]))
    prices = prices.set_column(
        prices.column_names.index("received_at"),
        "received_at",
        pa.array([dt.datetime(2026, 9, 1, 22, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")),
    )
    typed = bulk.typed_for(sources.CUSTODIAN_CONFIRMATIONS, prices)
    assert typed.schema.field("price").type == pa.decimal128(20, 8)
    assert typed.column("price")[0].as_py() == Decimal("101.12345678")
    assert typed.column("quantity")[0].as_py() == Decimal("2500.0000")


class _Pieces:
    """Stands in for the queue to the writer: keeps what the generator sends."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, object]] = []

    def put(self, message: tuple[str, object]) -> None:
        self.messages.append(message)


def _generated(dates: list[dt.date], tables: tuple[str, ...], window: Path) -> list[bulk.Piece]:
    pieces = _Pieces()
    bulk._generate(CONFIG, dates, tables, pieces, window)
    kinds = [kind for kind, _ in pieces.messages]
    assert kinds == ["piece"] * (len(kinds) - 1) + ["finished"], pieces.messages[-1]
    return [piece for kind, piece in pieces.messages if isinstance(piece, bulk.Piece)]


def test_the_generators_pieces_are_the_days_tables_typed_and_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Sent in pieces of about PIECE_ROWS rows (small here, so that a table takes several), a
    day's rows are build_day's tables, in the types of their tables, the trades with the
    status the stretch leaves them in; the counterparties' record comes last and ends the day."""
    monkeypatch.setattr(bulk, "PIECE_ROWS", 1_000)
    dates = seed.business_dates(CONFIG.epoch, 4)
    targets = bulk.seeded_tables()
    pieces = _generated(dates, tuple(targets), tmp_path)

    cache = BookingsCache(CONFIG)
    reported = [timeline.operations_index(date) for date in dates]
    for date in dates:
        day = daily.build_day(CONFIG, date, cache)
        of_day = [piece for piece in pieces if piece.business_date == date]
        assert [piece.ends_day for piece in of_day] == [False] * (len(of_day) - 1) + [True]
        assert of_day[-1].table == "counterparty_settlement_days"
        assert of_day[-1].rows.equals(day.counterparty_settlement_days)
        # a piece gathers blocks' rows up to PIECE_ROWS; one block's are never split
        gathered = [piece.rows.num_rows for piece in of_day if piece.rows.column(0).num_chunks > 1]
        assert gathered
        assert max(gathered) <= bulk.PIECE_ROWS
        for name in targets:
            sent = pa.concat_tables([piece.rows for piece in of_day if piece.table == name])
            expected = getattr(day, name)
            if name == "trades":
                status = daily.status_once_reported(cache.get(date), reported)
                expected = expected.set_column(expected.schema.get_field_index("status"), "status", status)
            source = sources.SOURCES.get(name)
            assert sent.equals(bulk.typed_for(source, expected) if source else expected), (date, name)
    assert sum(piece.table == "custodian_confirmations" for piece in pieces) > len(dates)  # split
    assert {path.suffix for path in tmp_path.iterdir()} == {".npy"}  # the window's blocks, kept in files


def test_a_day_is_sent_with_the_daily_files_asked_for_and_all_its_truth(tmp_path: Path) -> None:
    without_statements = bulk.seeded_tables(
        tuple(source for source in sources.DAILY_SOURCES if source is not sources.CUSTODIAN_CONFIRMATIONS)
    )
    assert set(bulk.seeded_tables()) - set(without_statements) == {"custodian_confirmations"}
    assert without_statements["trade_fail_probability"] == "synthetic.trade_fail_probability"

    pieces = _generated([dt.date(2026, 9, 2)], tuple(without_statements), tmp_path)

    assert {piece.table for piece in pieces} == set(without_statements)
    assert all(piece.rows.num_rows for piece in pieces if piece.table != "injected_breaks")
