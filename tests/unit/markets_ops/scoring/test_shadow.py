"""The shadow comparison of a date: counts and each model's metrics on the realised trades only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from settlement_model.metrics import gate_metric

from include.markets_ops.scoring import shadow
from include.markets_ops.scoring.plan import ScoringPlan

DAY, KNOWN_BY = dt.date(2026, 11, 20), dt.date(2026, 11, 25)


def trade(
    champion: float, challenger: float, failed: bool | None, pair: tuple[str, str] = ("4", "5")
) -> tuple[Any, ...]:
    """A row of shadow_outcomes.sql, in its column order."""
    return ("settlement_fail_risk", pair[0], pair[1], champion, challenger, failed)


def test_both_models_are_measured_on_the_same_realised_trades() -> None:
    rows = [
        trade(0.9, 0.6, True),
        trade(0.2, 0.7, False),
        trade(0.4, 0.1, False),
        trade(0.3, 0.8, None),  # not settled yet: scored, not realised
    ]
    (compared,) = shadow.comparison(rows, DAY, KNOWN_BY)
    assert (compared["scored_trades"], compared["realised_trades"], compared["fails"]) == (4, 3, 1)
    assert (compared["champion_version"], compared["challenger_version"]) == ("4", "5")
    assert compared["champion_roc_auc"] == 1.0  # the one fail ranked first
    assert compared["challenger_roc_auc"] == 0.5
    assert compared["champion_brier"] == pytest.approx(gate_metric("brier", [1, 0, 0], [0.9, 0.2, 0.4]))
    assert compared["challenger_pr_auc"] == pytest.approx(gate_metric("pr_auc", [1, 0, 0], [0.6, 0.7, 0.1]))
    assert (compared["business_date"], compared["outcomes_known_by"]) == (DAY, KNOWN_BY)


def test_metrics_that_say_nothing_are_left_empty() -> None:
    (none_known,) = shadow.comparison([trade(0.9, 0.6, None)], DAY, KNOWN_BY)
    assert none_known["realised_trades"] == 0
    assert all(
        none_known[f"{m}_{k}"] is None for m in ("champion", "challenger") for k in ("roc_auc", "brier")
    )
    (no_fails,) = shadow.comparison([trade(0.1, 0.2, False), trade(0.3, 0.1, False)], DAY, KNOWN_BY)
    assert no_fails["champion_roc_auc"] is None  # one outcome only: no ranking to judge
    assert no_fails["champion_brier"] == pytest.approx((0.01 + 0.09) / 2)  # but the Brier score is defined


def test_each_champion_and_challenger_pair_gets_its_own_row() -> None:
    rows = [
        trade(0.9, 0.6, True),
        trade(0.2, 0.7, False, pair=("5", "6")),
        trade(0.3, 0.1, True, pair=("5", "6")),
    ]
    compared = shadow.comparison(rows, DAY, KNOWN_BY)
    assert [(c["champion_version"], c["challenger_version"], c["scored_trades"]) for c in compared] == [
        ("4", "5", 1),
        ("5", "6", 2),
    ]


def test_a_plan_shadows_a_challenger_on_every_shard_never_in_a_dry_run_nor_itself() -> None:
    plan = ScoringPlan(DAY, "settlement_fail_risk", "4", 2, 0.7, 0.3, "scheduled__run", shadow_version="5")
    assert all(arguments[-2:] == ["--shadow-version", "5"] for arguments in plan.shard_arguments())
    assert ScoringPlan.from_xcom(plan.as_xcom()) == plan
    with pytest.raises(ValueError, match="a dry run scores no shadow"):
        ScoringPlan(DAY, "settlement_fail_risk", "4", 2, 0.7, 0.3, "r", dry_run=True, shadow_version="5")
    with pytest.raises(ValueError, match="cannot shadow itself"):
        ScoringPlan(DAY, "settlement_fail_risk", "4", 2, 0.7, 0.3, "r", shadow_version="4")
