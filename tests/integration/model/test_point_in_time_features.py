"""The point-in-time features' SQL against the real warehouse, checked against the fixture's
rows computed in Python: each counterparty's settlement record over the 90 days up to each
as-of date counts only what was reported by then (no leakage), for several dates at once in
any order."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from settlement_model import features, warehouse

from tests.support import settlement_fixture


def _expected_history(fixture: settlement_fixture.Fixture, days: list[dt.date]) -> dict[tuple, tuple]:
    counterparty_of = {trade["trade_id"]: trade["counterparty_id"] for trade in fixture.trades}
    attempts: Counter[tuple] = Counter()
    fails: Counter[tuple] = Counter()
    for day in days:
        for outcome in fixture.outcomes:
            if day - dt.timedelta(days=90) < outcome["business_date"] <= day:
                key = (day, counterparty_of[outcome["trade_id"]])
                failed = outcome["outcome"] == "failed"
                attempts[key] += failed or outcome["days_late"] == 0
                fails[key] += failed
    return {key: (float(attempts[key]), float(fails[key])) for key in attempts}


def test_counterparty_history_counts_only_outcomes_reported_by_each_as_of_date(
    stack: dict[str, str], fixture_data: settlement_fixture.Fixture
) -> None:
    # In no order; the last is 120 days after the fixture's end: none of its outcomes is in
    # that date's 90 days, and the dates' span is wider than one window.
    days = [
        fixture_data.days[-1],
        fixture_data.days[3],
        fixture_data.days[-1] + dt.timedelta(days=120),
        fixture_data.days[len(fixture_data.days) // 2],
    ]
    with warehouse.connect(stack["REPORTING_READER_URL"]) as conn:
        warehouse.set_parameters(conn, features.feature_parameters(days))
        history = warehouse.fetch_table(conn, features.read_sql("counterparty_history.sql"))
    ours = {trade["counterparty_id"] for trade in fixture_data.trades}
    found: dict[tuple, Any] = {
        (row["as_of_date"], row["counterparty_id"]): (row["attempts"], row["fails"])
        for row in history.to_pylist()
        if row["counterparty_id"] in ours
    }
    expected = _expected_history(fixture_data, days)
    assert {day for day, _ in expected} == set(days) - {days[2]}  # outcomes before the others
    assert found == expected


def test_scorings_one_date_read_gives_the_rows_the_search_for_each_trades_dates_gives(
    stack: dict[str, str], fixture_data: settlement_fixture.Fixture
) -> None:
    """The scoring job's read (one as-of date: the date read once) returns, for each date, the
    rows of the general query (each trade's dates searched for) run with that date alone, and
    the rows of that date in the general query run with all the dates at once."""
    days = fixture_data.days
    ours = {trade["trade_id"] for trade in fixture_data.trades}

    def pending(sql: str, dates: list[dt.date]) -> list[dict[str, Any]]:
        with warehouse.connect(stack["REPORTING_READER_URL"]) as conn:
            warehouse.set_parameters(conn, features.feature_parameters(dates))
            rows = warehouse.fetch_table(conn, sql).to_pylist()
        return [row for row in rows if row["trade_id"] in ours]

    every_date = pending(features.pending_trades_sql(), days)
    for day in days:
        one_date = pending(features.pending_trades_sql(one_as_of_date=True), [day])
        assert one_date, f"no trade of the fixture pending on {day}: the check would be empty"
        assert one_date == pending(features.pending_trades_sql(), [day])
        # Both in the query's order (booking date, trade): one trade's rows tie only across dates.
        assert one_date == [row for row in every_date if row["as_of_date"] == day]
