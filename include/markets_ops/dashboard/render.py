"""HTML of the operations dashboard: one self-contained page (inline CSS and SVG, no scripts)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from include.markets_ops.dashboard import charts
from include.markets_ops.dashboard.data import TREND_DATES, Dashboard

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


def render_dashboard(board: Dashboard) -> str:
    scoring_chart = charts.stacked_bars(
        labels=[row["business_date"] for row in board.scoring],
        series={
            "low": [row["band_low"] for row in board.scoring],
            "medium": [row["band_medium"] for row in board.scoring],
            "high": [row["band_high"] for row in board.scoring],
            "unscored": [max(row["pending"] - row["scored"], 0) for row in board.scoring],
        },
        title="Pending trades by risk band",
    )
    trend_chart = charts.line(
        labels=[row["business_date"] for row in board.breaks_trend],
        values=[row["open_breaks"] for row in board.breaks_trend],
        # open_breaks_trend.sql: the latest dates with rows in reporting.recon_breaks, i.e. the
        # reconciled business dates (a date not reconciled has no point)
        title=f"Open breaks, last {TREND_DATES} reconciled business dates",
    )
    template = _environment().get_template("dashboard.html")
    return str(template.render(board=board, scoring_chart=scoring_chart, trend_chart=trend_chart))
