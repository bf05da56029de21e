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


def _comparison(business_date: str, challenger: str, fails: int) -> dict[str, object]:
    """An ml.shadow_comparisons row as shadow_comparisons.sql returns it (dates as ISO strings)."""
    return {
        "business_date": business_date,
        "champion_version": "3",
        "challenger_version": challenger,
        "scored_trades": 12000,
        "realised_trades": 9500,
        "fails": fails,
        "champion_roc_auc": 0.7388 if fails else None,  # no fails: ROC AUC undefined
        "challenger_roc_auc": 0.74125 if fails else None,
        "champion_pr_auc": 0.2 if fails else None,
        "challenger_pr_auc": 0.21 if fails else None,
        "champion_brier": 0.0612,
        "challenger_brier": 0.0605,
        "champion_calibration_error": 0.0034,
        "challenger_calibration_error": 0.0021,
        "outcomes_known_by": "2026-11-06",
        "computed_at": "2026-11-06T22:00:00+00:00",
    }


def test_the_shadow_section_lists_the_comparisons_with_dashes_where_undefined() -> None:
    board = _board()
    board.shadow_comparisons = [_comparison("2026-10-30", "4", 0), _comparison("2026-10-29", "<b>4</b>", 140)]
    html = render_dashboard(board)
    section = html[html.index("<h2>Shadow scoring</h2>") : html.index("<h2>Scoring coverage")]
    rows = section.split("<tr><td>")[1:]
    assert [row.split("</td>")[0] for row in rows] == ["2026-10-30", "2026-10-29"]  # as the query orders
    assert '<td class="num">12,000</td><td class="num">9,500</td><td class="num">0</td>' in rows[0]
    assert '<td class="num">–</td><td class="num">–</td>' in rows[0]
    assert '<td class="num">0.0612</td><td class="num">0.0605</td>' in rows[0]
    assert '<td class="num">0.7388</td><td class="num">0.7412</td>' in rows[1]
    assert "<td>v3</td><td>v&lt;b&gt;4&lt;/b&gt;</td>" in rows[1]  # escaped like every value
    assert "<td>2026-11-06</td>" in rows[1]
    assert "No challenger has been scored in shadow yet." not in html


def test_without_shadow_comparisons_the_section_says_so() -> None:
    html = render_dashboard(_board())
    assert "<h2>Shadow scoring</h2>" in html
    assert "No challenger has been scored in shadow yet." in html
    assert '<table data-testid="shadow-comparisons">' not in html
