from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from include.markets_ops.feed import sources
from include.markets_ops.synthetic import bad_rows, daily
from include.markets_ops.synthetic.config import GeneratorConfig

DAY = dt.date(2026, 10, 7)
CONFIG = GeneratorConfig(seed=7, epoch=dt.date(2026, 10, 1), trades_per_day=4000)


@pytest.fixture(scope="module")
def day() -> daily.DayData:
    return daily.build_day(CONFIG, DAY)


@pytest.mark.parametrize("source", sorted(bad_rows.CORRUPTIONS))
def test_bad_rows_are_extra_rows_each_recorded_with_a_rule_the_feed_checks(
    day: daily.DayData, source: str
) -> None:
    clean: pa.Table = getattr(day, source)
    injected = bad_rows.inject(CONFIG.seed, DAY, source, clean, rate=0.02)
    bad = injected.bad_rows.to_pylist()
    assert injected.table.num_rows == clean.num_rows + len(bad)
    assert {row["rule"] for row in bad} == set(bad_rows.CORRUPTIONS[source][1])  # every kind appears
    assert {row["rule"] for row in bad} <= set(sources.source(source).rules)
    # The clean rows are all still there, in their order.
    key = bad_rows.CORRUPTIONS[source][0]
    keys = injected.table.column(key).to_pylist()
    clean_keys = clean.column(key).to_pylist()
    assert [k for k in keys if k is not None and "-B" not in k] == clean_keys
    # A keyless bad row is recorded by its line number in the file.
    for row in bad:
        if row["record_key"].startswith("line:"):
            line = int(row["record_key"].removeprefix("line:"))
            assert keys[line - 1] is None
        else:
            assert row["record_key"] in keys


def test_each_bad_row_breaks_its_rule(day: daily.DayData) -> None:
    injected = bad_rows.inject(CONFIG.seed, DAY, "trades", day.trades, rate=0.02)
    rows = {r["trade_id"]: r for r in injected.table.to_pylist() if r["trade_id"] and "-B" in r["trade_id"]}
    for bad in injected.bad_rows.to_pylist():
        row = rows.get(bad["record_key"])
        if bad["rule"] == "quantity_not_positive":
            assert float(row["quantity"]) <= 0
        elif bad["rule"] == "currency_unknown":
            assert row["currency"] == "ZZZ"
        elif bad["rule"] == "counterparty_unknown":
            assert row["counterparty_id"] == "CP99999"
        elif bad["rule"] == "settle_date_before_trade_date":
            assert row["settle_date"] < row["trade_date"]


def test_injection_is_deterministic_and_off_at_rate_zero(day: daily.DayData) -> None:
    first = bad_rows.inject(CONFIG.seed, DAY, "trades", day.trades, rate=0.01)
    again = bad_rows.inject(CONFIG.seed, DAY, "trades", day.trades, rate=0.01)
    assert first.table.equals(again.table)
    assert first.bad_rows.equals(again.bad_rows)
    none = bad_rows.inject(CONFIG.seed, DAY, "trades", day.trades, rate=0.0)
    assert none.bad_rows.num_rows == 0
    assert none.table.equals(day.trades)


def test_the_file_with_bad_rows_shares_the_clean_rows_memory(day: daily.DayData) -> None:
    # A day's file at volume is hundreds of MB: the bad rows are chained in, the clean rows not copied.
    before = pa.total_allocated_bytes()
    injected = bad_rows.inject(CONFIG.seed, DAY, "trades", day.trades, rate=0.02)
    assert injected.bad_rows.num_rows > 0
    assert pa.total_allocated_bytes() - before < day.trades.nbytes / 10
