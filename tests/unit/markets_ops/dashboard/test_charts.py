"""The dashboard's inline SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from include.markets_ops.dashboard import charts


def test_svg_charts_are_well_formed_and_escape_labels() -> None:
    svg = charts.line(["<script>", "b"], [1, 2], title="a & b")
    ET.fromstring(svg)  # parses as XML: well formed
    assert "<script>" not in svg


def test_the_trend_charts_last_date_label_ends_inside_the_chart() -> None:
    dates = [f"2026-10-{day:02d}" for day in range(1, 31)]
    svg = charts.line(dates, list(range(30)), title="t", width=640)
    labels = ET.fromstring(svg).findall("{http://www.w3.org/2000/svg}text")[3:]  # after title and axis
    *earlier, last = labels
    assert (last.text, last.get("text-anchor")) == ("10-30", "end")  # drawn leftwards from the point
    assert float(last.get("x")) <= 640
    assert {label.get("text-anchor") for label in earlier} == {"middle"}
