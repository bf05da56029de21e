"""The dashboard page rendered from a board (and the board's champion and challenger)."""

from __future__ import annotations

import datetime as dt

from include.markets_ops.dashboard.data import Dashboard, _champion_and_challenger
from include.markets_ops.dashboard.render import render_dashboard


def _board() -> Dashboard:
    promotions = [
        {
            "decided_at": "2026-10-30T20:00:00",
            "candidate_version": "4",
            "previous_champion_version": "3",
            "decision": "rejected",
            "reasons": ["roc_auc below champion by 0.04"],
            # As the promotion gate records them: the candidate's under "challenger".
            "metrics": {"challenger": {"roc_auc": 0.7134}, "baseline": {"roc_auc": 0.81}},
            "dag_run_id": "manual__x",
            "triggered_by": "admin",
            "is_backfill": False,
            "model_name": "m",
            "review_outcome": None,  # the gate's checks rejected it: no person was asked
            "reviewed_by": None,
            "reviewed_at": None,
            "review_comment": None,
        },
        {
            "decided_at": "2026-10-23T20:00:00",
            "candidate_version": "3",
            "previous_champion_version": "2",
            "decision": "promoted",
            "reasons": [],
            "metrics": {"roc_auc": 0.81, "pr_auc": 0.2, "calibration_error": 0.01},
            "dag_run_id": "scheduled__y",
            "triggered_by": "scheduler",
            "is_backfill": False,
            "model_name": "m",
            "review_outcome": "approved",
            "reviewed_by": "op",
            "reviewed_at": "2026-10-23T21:10:00",
            "review_comment": "checked the window",
        },
    ]
    champion, challenger = _champion_and_challenger(promotions)
    return Dashboard(
        business_date=dt.date(2026, 10, 30),
        champion=champion,
        challenger=challenger,
        promotions=promotions,
        scoring=[
            {
                "business_date": "2026-10-30",
                "pending": 1000,
                "scored": 990,
                "band_low": 900,
                "band_medium": 70,
                "band_high": 20,
                "model_version": "3",
            }
        ],
        breaks_by_type=[
            {
                "break_type": "price_mismatch",
                "age_new": 3,
                "age_1d": 1,
                "age_2_4d": 1,
                "age_5d_plus": 0,
                "total": 5,
                "notional": 1.5e6,
            }
        ],
        breaks_trend=[
            {"business_date": "2026-10-29", "open_breaks": 4, "resolved_breaks": 1},
            {"business_date": "2026-10-30", "open_breaks": 5, "resolved_breaks": 2},
        ],
        alerts=[
            {
                "rule_id": "aged_breaks",
                "severity": "high",
                "entity_key": "CP0007",
                "details": {"n": 2},
                "is_new": True,
                "first_raised_date": "2026-10-30",
            }
        ],
    )


def test_champion_is_the_last_promotion_and_challenger_the_later_rejection() -> None:
    board = _board()
    assert board.champion["candidate_version"] == "3"
    assert board.challenger["candidate_version"] == "4"


def test_page_shows_the_numbers_and_both_charts() -> None:
    html = render_dashboard(_board())
    assert "v3" in html
    assert "99.0%" in html
    assert "price_mismatch" in html
    assert "aged_breaks" in html
    assert html.count("<svg") == 2
    # Both shapes of recorded metrics: the challenger's (gate) and a flat one.
    assert "0.713" in html
    assert "0.810" in html


def test_the_promotion_history_says_who_approved_and_why() -> None:
    html = render_dashboard(_board())
    assert '<td data-testid="promotion-review">approved by op: “checked the window”</td>' in html
    assert '<td data-testid="promotion-review"></td>' in html  # the gate's own rejection


def test_the_trend_chart_says_what_it_plots() -> None:
    html = render_dashboard(_board())
    assert "Open breaks, last 30 reconciled business dates" in html
