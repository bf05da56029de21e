"""The reconciliation's pure parts: business-date checks, tolerances, the summary's shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from include.markets_ops.calendars import NotABusinessDateError
from include.markets_ops.reconciliation.breaks import ReconSummary, Tolerances, reconcile
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.warehouse.models import BREAK_TYPES


@pytest.mark.parametrize("day", [dt.date(2026, 11, 28), dt.date(2026, 11, 26), dt.date(2026, 12, 25)])
def test_weekends_and_exchange_holidays_are_refused_before_touching_the_database(day: dt.date) -> None:
    with pytest.raises(NotABusinessDateError, match=f"not a XNYS business day, e.g. {day}"):
        reconcile(None, day)  # no connection needed: refused first


def test_negative_tolerances_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Tolerances(price_bp=Decimal("-1"))


def test_the_summary_totals_and_its_json_form() -> None:
    summary = ReconSummary(
        business_date=dt.date(2026, 11, 27),
        previous_date=None,
        open_by_type={**dict.fromkeys(BREAK_TYPES, 0), "price_mismatch": 2, "missing_internal": 1},
        new_by_type=dict.fromkeys(BREAK_TYPES, 0),
        resolved_by_type={**dict.fromkeys(BREAK_TYPES, 0), "quantity_mismatch": 4},
        oldest_open_break={
            "trade_ref": "T",
            "first_seen_date": dt.date(2026, 11, 20),
            "age_business_days": 4,
        },
    )
    data = summary.as_dict()
    assert (data["open_breaks"], data["new_breaks"], data["resolved_breaks"]) == (3, 0, 4)
    assert data["business_date"] == "2026-11-27"
    assert data["previous_date"] is None
    assert data["oldest_open_break"]["first_seen_date"] == "2026-11-20"


def test_the_classification_sql_binds_every_tolerance_and_formats_nothing() -> None:
    sql = read_sql("recon/insert_breaks.sql")
    for name in (
        "price_tolerance_bp",
        "quantity_tolerance",
        "business_date",
        "previous_date",
        "due_after",
        "recent_since",
        "due_by",
        "custodian",
        "settlement_locations",
    ):
        assert f"%({name})s" in sql
    assert "{" not in sql  # no str.format placeholders
    for break_type in BREAK_TYPES:
        assert f"'{break_type}'" in sql
