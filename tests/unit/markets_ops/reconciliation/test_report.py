"""The report's HTML and chart (self-contained, escaped, deterministic) and the summary event."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from include.markets_ops.reconciliation import report as recon_report
from include.markets_ops.reconciliation.report import (
    ReportData,
    chart_days,
    render_html,
    summary_event,
    svg_chart,
)
from include.markets_ops.warehouse.models import BREAK_TYPES

DAY = dt.date(2026, 11, 27)


def _summary(**changes: object) -> dict:
    summary = {
        "business_date": DAY.isoformat(),
        "previous_date": "2026-11-25",
        "open_by_type": {**dict.fromkeys(BREAK_TYPES, 0), "price_mismatch": 3, "missing_internal": 1},
        "new_by_type": {**dict.fromkeys(BREAK_TYPES, 0), "price_mismatch": 1},
        "resolved_by_type": {**dict.fromkeys(BREAK_TYPES, 0), "quantity_mismatch": 2},
        "open_breaks": 4,
        "new_breaks": 1,
        "resolved_breaks": 2,
        "oldest_open_break": {
            "trade_ref": "T-1",
            "break_type": "price_mismatch",
            "first_seen_date": "2026-11-02",
            "age_business_days": 17,
            "counterparty_id": "CP-1",
        },
        "tolerances": {"price_bp": "1", "quantity": "0"},
    }
    summary.update(changes)
    return summary


def _data(**changes: object) -> ReportData:
    history = [
        (d, {**dict.fromkeys(BREAK_TYPES, 0), "price_mismatch": i}) for i, d in enumerate(chart_days(DAY))
    ]
    data = ReportData(
        business_date=DAY,
        summary=_summary(),
        by_counterparty=[
            {
                "counterparty_id": f"CP-{i}",
                "open_breaks": 40 - i,
                "new_breaks": 1,
                "oldest_age_business_days": i,
                "notional": Decimal("10.50"),
            }
            for i in range(30)
        ],
        by_age_bucket=[{"age_bucket": "0 (new)", "open_breaks": 1, "notional": Decimal("5")}],
        history=history,
        oldest_breaks=[
            {
                "trade_ref": "T-1",
                "break_type": "price_mismatch",
                "counterparty_id": "CP-1",
                "first_seen_date": dt.date(2026, 11, 2),
                "age_business_days": 17,
                "internal_value": "100",
                "custodian_value": "101",
                "notional": Decimal("1000.00"),
            }
        ],
        export_rows=6,
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def test_chart_days_are_the_last_30_business_days_ending_on_the_date() -> None:
    days = chart_days(DAY)
    assert len(days) == recon_report.CHART_BUSINESS_DAYS == 30
    assert days[-1] == DAY
    assert dt.date(2026, 11, 26) not in days  # Thanksgiving
    assert all(d.weekday() < 5 for d in days)


def test_the_chart_stacks_one_bar_segment_per_nonzero_count_with_a_tooltip() -> None:
    day1, day2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
    svg = svg_chart(
        [
            (day1, {**dict.fromkeys(BREAK_TYPES, 0), "price_mismatch": 2, "missing_internal": 3}),
            (day2, dict.fromkeys(BREAK_TYPES, 0)),
        ]
    )
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    assert titles == ["2026-11-24 missing_internal: 3", "2026-11-24 price_mismatch: 2"]
    assert "11-24" in svg
    assert "11-25" in svg
    for break_type in BREAK_TYPES:
        assert f">{break_type}</text>" in svg  # legend


def test_an_empty_history_still_draws_axes() -> None:
    svg = svg_chart([(DAY, dict.fromkeys(BREAK_TYPES, 0))])
    assert "<rect" in svg  # legend swatches
    assert "<title>" not in svg


@pytest.mark.parametrize(("maximum", "step"), [(0, 1), (3, 1), (9, 2), (40, 10), (123, 50), (2_000, 500)])
def test_nice_step(maximum: int, step: int) -> None:
    assert recon_report._nice_step(maximum) == step


def test_the_page_is_self_contained_and_deterministic() -> None:
    page = render_html(_data())
    assert page == render_html(_data())
    without_svg_namespace = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_svg_namespace
    assert "https://" not in page
    assert "<script" not in page
    assert "<svg" in page
    assert "T-1 price_mismatch, 17 business days (since 2026-11-02)" in page
    assert 'href="breaks.csv"' in page


def test_the_page_shows_the_top_counterparties_and_groups_the_rest() -> None:
    page = render_html(_data())
    assert "CP-24" in page
    assert "CP-25" not in page
    assert "5 other counterparties" in page


def test_values_from_the_data_are_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    data = _data(
        by_counterparty=[
            {
                "counterparty_id": hostile,
                "open_breaks": 1,
                "new_breaks": 0,
                "oldest_age_business_days": 0,
                "notional": Decimal(0),
            }
        ]
    )
    page = render_html(data)
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_summary_event_carries_counts_the_oldest_break_and_the_report_paths() -> None:
    keys = [
        "reports/recon/business_date=2026-11-27/report.html",
        "reports/recon/business_date=2026-11-27/manifest.json",
    ]
    event = summary_event(_summary(), "bucket", keys)
    assert event["schema_version"] == 1
    assert event["business_date"] == "2026-11-27"
    assert event["open_by_type"]["price_mismatch"] == 3
    assert event["oldest_open_break"]["age_business_days"] == 17
    assert event["report"] == {
        "report.html": "s3://bucket/reports/recon/business_date=2026-11-27/report.html",
        "manifest.json": "s3://bucket/reports/recon/business_date=2026-11-27/manifest.json",
    }


def test_the_prefix_is_partitioned_by_business_date() -> None:
    assert recon_report.prefix_for(DAY) == "reports/recon/business_date=2026-11-27/"
