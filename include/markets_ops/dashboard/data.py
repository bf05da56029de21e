"""What the operations dashboard shows, read through the read-only reporting role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from include.markets_ops.services.model_registry import MODEL_NAME
from include.markets_ops.services.sql_files import read_sql

CHAMPION_DECISIONS = {"promoted", "bootstrapped", "rolled_back"}
# The breaks trend: how many of the latest reconciled business dates (dates with rows in
# reporting.recon_breaks) it plots.
TREND_DATES = 30
SHADOW_ROWS = 20  # the latest shadow comparisons shown (a few weeks of one challenger)
STATEMENT_TIMEOUT = "15s"  # a dashboard query that takes longer is a bug, not a wait


@dataclass
class Dashboard:
    business_date: dt.date | None
    champion: dict[str, Any] | None = None
    challenger: dict[str, Any] | None = None
    promotions: list[dict[str, Any]] = field(default_factory=list)
    shadow_comparisons: list[dict[str, Any]] = field(default_factory=list)
    scoring: list[dict[str, Any]] = field(default_factory=list)
    breaks_by_type: list[dict[str, Any]] = field(default_factory=list)
    breaks_trend: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest_scoring(self) -> dict[str, Any] | None:
        return self.scoring[-1] if self.scoring else None

    @property
    def coverage(self) -> float | None:
        latest = self.latest_scoring
        if not latest or not latest["pending"]:
            return None
        return float(latest["scored"]) / float(latest["pending"])

    @property
    def open_breaks(self) -> int:
        return sum(int(row["total"]) for row in self.breaks_by_type)

    def as_json(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat() if self.business_date else None,
            "champion": self.champion,
            "challenger": self.challenger,
            "promotions": self.promotions,
            "shadow_comparisons": self.shadow_comparisons,
            "scoring": self.scoring,
            "coverage": self.coverage,
            "open_breaks": self.open_breaks,
            "breaks_by_type": self.breaks_by_type,
            "breaks_trend": self.breaks_trend,
            "alerts": self.alerts,
        }


def load_dashboard(connection: Any, business_date: dt.date | None) -> Dashboard:
    """Run the dashboard's queries in one read-only transaction on a psycopg 3 connection."""
    with connection.transaction():
        connection.execute("SET TRANSACTION READ ONLY")
        connection.execute("SELECT set_config('statement_timeout', %s, true)", (STATEMENT_TIMEOUT,))
        if business_date is None:
            latest = _query(connection, "latest_business_date.sql", {})[0]["business_date"]
            business_date = dt.date.fromisoformat(latest) if latest else None
        board = Dashboard(business_date=business_date)
        board.promotions = _query(connection, "model_promotions.sql", {"model_name": MODEL_NAME, "limit": 10})
        board.champion, board.challenger = _champion_and_challenger(board.promotions)
        board.shadow_comparisons = _query(
            connection, "shadow_comparisons.sql", {"model_name": MODEL_NAME, "limit": SHADOW_ROWS}
        )
        if business_date is None:
            return board
        on_date = {"business_date": business_date}
        board.scoring = _query(connection, "scoring_by_date.sql", {**on_date, "days": 10})
        board.breaks_by_type = _query(connection, "open_breaks_by_type_and_age.sql", on_date)
        board.breaks_trend = _query(connection, "open_breaks_trend.sql", {**on_date, "days": TREND_DATES})
        board.alerts = _query(connection, "alerts.sql", {**on_date, "limit": 200})
    return board


def _query(connection: Any, sql_file: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(read_sql(f"dashboard/{sql_file}"), params)
        return [_jsonable(row) for row in cursor.fetchall()]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value

    return {key: plain(value) for key, value in row.items()}


def _champion_and_challenger(
    promotions: list[dict[str, Any]],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The champion is the latest version a decision made champion; the challenger, the
    latest rejected candidate newer than that decision."""
    champion = next((p for p in promotions if p["decision"] in CHAMPION_DECISIONS), None)
    challenger = None
    for promotion in promotions:
        if promotion is champion:
            break
        if promotion["decision"] == "rejected":
            challenger = promotion
            break
    return champion, challenger
