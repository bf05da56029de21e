"""Reconciliation against the synthetic world's ground truth.

A scratch warehouse seeded by the generator and touched by no other test
(tests/integration/conftest.py, ``pristine_seeded_warehouse``) is reconciled date by date,
in order, as the nightly DAG does.
On every date the open breaks must be exactly the injected ones (synthetic.injected_breaks,
read as the owner role: the pipeline roles cannot read the truth), each with its type: no
break missed, none invented, the custodians' below-tolerance price roundings included. A break
the generator keeps for several days must age one business day per date, from the date it
first appeared.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

import pytest

from include.markets_ops.reconciliation.breaks import reconcile


@pytest.fixture(scope="module")
def reconciled(pristine_seeded_warehouse: Any) -> dict[str, Any]:
    warehouse = pristine_seeded_warehouse
    with warehouse.connect("owner") as owner:
        dates = [
            row[0]
            for row in owner.execute(
                "SELECT DISTINCT business_date FROM ops.custodian_confirmations ORDER BY 1"
            )
        ]
    with warehouse.connect("writer") as writer:
        summaries = {day: reconcile(writer, day) for day in dates}
    return {"warehouse": warehouse, "dates": dates, "summaries": summaries}


def _rows(conn: Any, sql: str, params: list[Any]) -> set[tuple[Any, ...]]:
    return set(conn.execute(sql, params).fetchall())


def test_every_injected_break_is_found_with_its_type_and_nothing_else(reconciled: dict[str, Any]) -> None:
    warehouse = reconciled["warehouse"]
    assert len(reconciled["dates"]) >= 10
    differences = {}
    total = Counter()
    with warehouse.connect("reader") as reader, warehouse.connect("owner") as owner:
        for day in reconciled["dates"]:
            found = _rows(
                reader,
                "SELECT trade_ref, break_type FROM reporting.recon_breaks "
                "WHERE business_date = %s AND status = 'open'",
                [day],
            )
            truth = _rows(
                owner,
                "SELECT trade_ref, break_type FROM synthetic.injected_breaks WHERE business_date = %s",
                [day],
            )
            total.update(kind for _, kind in truth)
            if found != truth:
                differences[day] = {
                    "missed": sorted(truth - found)[:5],
                    "invented": sorted(found - truth)[:5],
                }
    assert differences == {}
    # The world injected every type, so each classification was exercised.
    assert set(total) == {
        "missing_at_custodian",
        "missing_internal",
        "quantity_mismatch",
        "price_mismatch",
        "settle_date_mismatch",
        "counterparty_mismatch",
    }


def test_below_tolerance_price_differences_exist_and_are_not_breaks(reconciled: dict[str, Any]) -> None:
    warehouse = reconciled["warehouse"]
    day = reconciled["dates"][-1]
    with warehouse.connect("reader") as reader:
        rounded = reader.execute(
            """
            SELECT count(*)
            FROM ops.custodian_confirmations AS c
            JOIN ops.trades AS t ON t.trade_id = c.trade_ref
            WHERE c.business_date = %(day)s
              AND c.price <> t.price
              AND abs(c.price - t.price) * 10000 <= 1 * t.price
              AND NOT EXISTS (
                  SELECT 1 FROM reporting.recon_breaks AS b
                  WHERE b.business_date = %(day)s AND b.trade_ref = c.trade_ref
                    AND b.break_type = 'price_mismatch'
              )
            """,
            {"day": day},
        ).fetchone()[0]
        flagged = reader.execute(
            """
            SELECT count(*)
            FROM reporting.recon_breaks AS b
            JOIN ops.trades AS t ON t.trade_id = b.trade_ref
            WHERE b.business_date = %(day)s AND b.break_type = 'price_mismatch'
              AND abs(b.custodian_value::numeric - t.price) * 10000 <= 1 * t.price
            """,
            {"day": day},
        ).fetchone()[0]
    assert rounded > 0  # the generator rounded some prices below the tolerance...
    assert flagged == 0  # ...and none of them is a break


def test_breaks_age_one_business_day_per_date_from_their_first_appearance(reconciled: dict[str, Any]) -> None:
    warehouse = reconciled["warehouse"]
    dates = reconciled["dates"]
    index = {day: i for i, day in enumerate(dates)}
    with warehouse.connect("owner") as owner:
        truth = sorted(
            owner.execute(
                "SELECT trade_ref, break_type, business_date FROM synthetic.injected_breaks"
            ).fetchall()
        )
        rows = owner.execute(
            "SELECT trade_ref, break_type, business_date, first_seen_date, age_business_days "
            "FROM reporting.recon_breaks WHERE status = 'open'"
        ).fetchall()
    # Expected first-seen date: the start of the consecutive run of dates the break was injected on.
    expected: dict[tuple[str, str, dt.date], tuple[dt.date, int]] = {}
    previous: tuple[str, str, dt.date] | None = None
    for ref, kind, day in truth:
        start = day
        if previous and previous[:2] == (ref, kind) and index[previous[2]] == index[day] - 1:
            start = expected[previous][0]
        expected[(ref, kind, day)] = (start, index[day] - index[start])
        previous = (ref, kind, day)
    actual = {(ref, kind, day): (first, age) for ref, kind, day, first, age in rows}
    assert actual == expected
    assert any(age > 1 for _, age in actual.values())  # some breaks persisted over several days


def test_resolved_breaks_are_those_gone_from_the_truth(reconciled: dict[str, Any]) -> None:
    warehouse = reconciled["warehouse"]
    dates = reconciled["dates"]
    with warehouse.connect("owner") as owner:
        for previous, day in itertools.pairwise(dates):
            gone = _rows(
                owner,
                "SELECT trade_ref, break_type FROM synthetic.injected_breaks WHERE business_date = %s "
                "EXCEPT SELECT trade_ref, break_type FROM synthetic.injected_breaks WHERE business_date = %s",
                [previous, day],
            )
            resolved = _rows(
                owner,
                "SELECT trade_ref, break_type FROM reporting.recon_breaks "
                "WHERE business_date = %s AND status = 'resolved'",
                [day],
            )
            assert resolved == gone, day
