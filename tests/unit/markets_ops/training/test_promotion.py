"""The promotion gate's rule, case by case (the registry and audit side: tests/integration)."""

from __future__ import annotations

from typing import Any

import pytest

from include.markets_ops.training import promotion
from include.markets_ops.training.promotion import Decision, Review, Thresholds, decide

THRESHOLDS = Thresholds(
    min_roc_auc=0.7, max_auc_regression=0.01, max_calibration_error=0.03, min_positives=100
)


def evaluation(
    auc: float,
    *,
    ece: float = 0.01,
    positives: int = 400,
    baseline_auc: float | None = None,
    baseline_version: str | None = None,
    baseline_error: str | None = None,
) -> dict[str, Any]:
    return {
        "challenger_version": "5",
        "positives": positives,
        "challenger": {"roc_auc": auc, "calibration_error": ece},
        "baseline_version": baseline_version,
        "baseline": {"roc_auc": baseline_auc, "calibration_error": 0.01}
        if baseline_auc is not None
        else None,
        "baseline_error": baseline_error,
    }


def test_a_first_model_that_passes_bootstraps_the_champion() -> None:
    decision = decide(
        evaluation(0.8, baseline_error="no alias 'champion'"), THRESHOLDS, None, is_backfill=False
    )
    assert decision.decision == promotion.BOOTSTRAPPED
    assert (decision.champion_before, decision.champion_after) == (None, "5")


def test_a_first_model_below_the_absolute_thresholds_is_rejected() -> None:
    decision = decide(evaluation(0.65, ece=0.05, positives=40), THRESHOLDS, None, is_backfill=False)
    assert decision.decision == promotion.REJECTED
    assert decision.champion_after is None
    reasons = " | ".join(decision.reasons)
    assert "only 40 failed trades" in reasons
    assert "ROC AUC 0.6500 is below the minimum 0.7000" in reasons
    assert "calibration error 0.0500 is above the maximum 0.0300" in reasons


def test_a_better_challenger_is_promoted() -> None:
    decision = decide(
        evaluation(0.82, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", is_backfill=False
    )
    assert decision.decision == promotion.PROMOTED
    assert (decision.champion_before, decision.champion_after) == ("4", "5")


def test_a_slightly_worse_challenger_within_the_allowed_regression_is_promoted() -> None:
    decision = decide(evaluation(0.795, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", False)
    assert decision.decision == promotion.PROMOTED


def test_a_worse_challenger_is_rejected_and_the_champion_stays() -> None:
    decision = decide(evaluation(0.75, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", False)
    assert decision.decision == promotion.REJECTED
    assert decision.champion_after == "4"
    assert "0.0500 below the champion's (version 4: 0.8000)" in decision.reasons[0]


def test_a_backfill_never_promotes() -> None:
    decision = decide(
        evaluation(0.9, baseline_auc=0.8, baseline_version="4"), THRESHOLDS, "4", is_backfill=True
    )
    assert decision.decision == promotion.EVALUATED_ONLY
    assert decision.champion_after == "4"
    assert "backfill runs never promote" in decision.reasons
    assert decide(evaluation(0.9), THRESHOLDS, None, is_backfill=True).champion_after is None


def test_an_evaluation_against_another_version_is_evaluation_only() -> None:
    decision = decide(evaluation(0.9, baseline_auc=0.7, baseline_version="2"), THRESHOLDS, "4", False)
    assert decision.decision == promotion.EVALUATED_ONLY
    assert "not the champion (version 4)" in decision.reasons[0]


def test_a_champion_that_cannot_be_evaluated_leaves_the_absolute_checks_to_decide() -> None:
    error = "the input schema of settlement_fail_risk version 4 does not match"
    passing = decide(evaluation(0.8, baseline_error=error), THRESHOLDS, "4", False)
    assert passing.decision == promotion.PROMOTED
    assert error in passing.reasons[0]
    assert (
        decide(evaluation(0.6, baseline_error=error), THRESHOLDS, "4", False).decision == promotion.REJECTED
    )


def test_every_decision_event_has_a_deterministic_key_and_flags_rejections() -> None:
    run = promotion.RunInfo("settlement_risk_training", "manual__1", "admin", is_backfill=False)
    rejected = decide(evaluation(0.6), THRESHOLDS, None, False)
    key, value = promotion.event(
        "settlement_fail_risk", rejected, run, evaluation=evaluation(0.6), thresholds=THRESHOLDS
    )
    assert key == "settlement_fail_risk/manual__1/5/rejected"
    assert value["alert"] is True
    assert value["thresholds"]["min_roc_auc"] == 0.7
    assert (key, value) == promotion.event(
        "settlement_fail_risk", rejected, run, evaluation=evaluation(0.6), thresholds=THRESHOLDS
    )


PASSED = Decision(promotion.PROMOTED, "7", "6", "7", ["passed every check"])
FIRST = Decision(promotion.BOOTSTRAPPED, "1", None, "1", ["passed every check"])
AT = "2026-12-02T09:30:00+00:00"
RUN = promotion.RunInfo("settlement_risk_training", "manual__1", "admin", is_backfill=False)


# --------------------------------------------------------------------------- the approver's answer


def test_a_pass_held_for_approval_moves_nothing() -> None:
    held = promotion.held_for_approval(PASSED)
    assert (held.decision, held.champion_before, held.champion_after) == (
        promotion.PENDING_APPROVAL,
        "6",
        "6",
    )
    assert held.reasons == PASSED.reasons
    assert not held.moves_champion


@pytest.mark.parametrize(
    ("review", "pending", "outcome", "after"),
    [
        (Review(promotion.APPROVED, "op", AT, "checked"), PASSED, promotion.PROMOTED, "7"),
        (Review(promotion.APPROVED, "op", AT), FIRST, promotion.BOOTSTRAPPED, "1"),
        (
            Review(promotion.REVIEW_REJECTED, "op", AT, "not before month end"),
            PASSED,
            promotion.REJECTED,
            "6",
        ),
        (Review(promotion.TIMED_OUT, None, AT), PASSED, promotion.REJECTED, "6"),
    ],
)
def test_an_answer_decides_the_pending_pass(
    review: Review, pending: Decision, outcome: str, after: str
) -> None:
    held = promotion.held_for_approval(pending)
    decision = promotion.review_decision(held, review, pending.champion_before, "admin")
    assert (decision.decision, decision.champion_after) == (outcome, after)
    assert decision.reasons[0] == "passed every check"  # the gate's checks stay in the record


def test_each_refusal_says_why() -> None:
    held = promotion.held_for_approval(PASSED)

    def why(review: Review, champion_now: str | None = "6", triggered_by: str = "admin") -> str | None:
        return promotion.why_not_approved(held, review, champion_now, triggered_by)

    assert why(Review(promotion.TIMED_OUT, reviewed_at=AT)) == (
        "no approver answered the approval request before it timed out"
    )
    assert why(Review(promotion.REVIEW_REJECTED, "op", AT, "too early")) == "rejected by op: too early"
    assert why(Review(promotion.REVIEW_REJECTED, "op", AT)) == "rejected by op: no comment given"
    assert why(Review(promotion.APPROVED, "admin", AT), triggered_by="admin") == (
        "approved by admin, who also triggered the run: a promotion needs a second person (four eyes)"
    )
    assert why(Review(promotion.APPROVED, "op", AT), champion_now="8") == (
        "the champion changed from version 6 to 8 while the request waited: train again and ask again"
    )
    assert why(Review(promotion.APPROVED, "op", AT)) is None


def test_an_approval_names_the_approver_and_their_comment() -> None:
    decision = promotion.review_decision(
        promotion.held_for_approval(PASSED), Review(promotion.APPROVED, "op", AT, "checked"), "6", "admin"
    )
    assert decision.reasons == ["passed every check", "approved by op: checked"]


def test_each_answer_has_its_own_event_key_and_the_event_carries_the_review() -> None:
    review = Review(promotion.REVIEW_REJECTED, "op", AT, "too early")
    rejected = Decision(promotion.REJECTED, "7", "6", "6", ["rejected by op: too early"])
    key, value = promotion.event("m", rejected, RUN, evaluation=None, thresholds=None, review=review)
    assert key == f"m/manual__1/7/rejected/rejected@{AT}"
    assert value["review"] == {
        "outcome": "rejected",
        "reviewed_by": "op",
        "reviewed_at": AT,
        "comment": "too early",
    }
    assert value["schema_version"] == promotion.EVENT_SCHEMA_VERSION == 2
    no_review_key, no_review = promotion.event("m", rejected, RUN, evaluation=None, thresholds=None)
    assert (no_review_key, no_review["review"]) == ("m/manual__1/7/rejected", None)


def test_a_rollback_is_carried_out_when_approved_by_another_person_or_in_an_emergency() -> None:
    def refusal(review: Review, champion_now: str = "7") -> str | None:
        return promotion._rollback_refusal(review, "7", champion_now, RUN)

    assert refusal(Review(promotion.APPROVED, "op", AT)) is None
    assert refusal(Review(promotion.EMERGENCY, "admin", comment="scores all zero tonight")) is None
    assert refusal(Review(promotion.EMERGENCY, "admin")) == "an emergency rollback needs a reason"
    assert refusal(Review(promotion.REVIEW_REJECTED, "op", AT, "keep it")) == (
        "rollback not carried out: rejected by op: keep it"
    )
    assert "four eyes" in str(refusal(Review(promotion.APPROVED, "admin", AT)))
    assert "changed from version 7 to 8" in str(
        refusal(Review(promotion.APPROVED, "op", AT), champion_now="8")
    )


def test_a_rollbacks_reason_names_who_asked_and_who_approved() -> None:
    approved = promotion._rollback_reason(Review(promotion.APPROVED, "op", AT, "bad night"), RUN, "7", "6")
    assert approved == "rollback asked by admin, approved by op: bad night; version 7 replaced by 6"
    emergency = promotion._rollback_reason(
        Review(promotion.EMERGENCY, "admin", comment="outage"), RUN, "7", "6"
    )
    assert emergency == "emergency rollback by admin: outage; version 7 replaced by 6"


# --------------------------------------------------------------------------- the shadow check

SHADOW_GATE = Thresholds(
    min_roc_auc=0.7,
    max_auc_regression=0.01,
    max_calibration_error=0.03,
    min_positives=100,
    shadow_min_days=3,
    shadow_min_fails=100,
    shadow_max_auc_gap=0.01,
)


def shadow_day(
    day: int, champion_auc: float | None, challenger_auc: float | None, fails: int = 50, realised: int = 1000
) -> dict[str, Any]:
    return {
        "business_date": f"2026-11-{day:02d}",
        "champion_version": "4",
        "challenger_version": "5",
        "realised_trades": realised,
        "fails": fails,
        "champion_roc_auc": champion_auc,
        "challenger_roc_auc": challenger_auc,
    }


def in_shadow(days: list[dict[str, Any]]) -> dict[str, Any]:
    return {**evaluation(0.81, baseline_auc=0.80, baseline_version="4"), "shadow": days}


def test_a_candidate_without_a_shadow_record_stays_the_challenger() -> None:
    decision = decide(in_shadow([]), SHADOW_GATE, "4", is_backfill=False)
    assert decision.decision == promotion.REJECTED
    assert decision.champion_after == "4"
    assert decision.reasons == [
        "shadow: 0 business days of realised outcomes beside champion version 4 (minimum 3); as the "
        "challenger it is scored in shadow each night: gate it again when it has them",
        "shadow: 0 realised failed trades (minimum 100)",
    ]


def test_a_challenger_as_good_as_the_champion_in_shadow_over_enough_days_is_promoted() -> None:
    days = [shadow_day(d, 0.74, 0.745) for d in (20, 23, 24)]
    assert decide(in_shadow(days), SHADOW_GATE, "4", is_backfill=False).decision == promotion.PROMOTED


def test_days_without_a_defined_roc_auc_do_not_count() -> None:
    days = [shadow_day(20, 0.74, 0.745), shadow_day(23, 0.74, 0.745), shadow_day(24, None, None, fails=0)]
    reasons = decide(in_shadow(days), SHADOW_GATE, "4", is_backfill=False).reasons
    assert reasons[0].startswith("shadow: 2 business days of realised outcomes")
    assert len(reasons) == 1  # 100 fails on the two days that count: the minimum, met


def test_a_challenger_worse_in_shadow_is_refused_with_the_weighted_means() -> None:
    days = [shadow_day(20, 0.75, 0.73, realised=3000), shadow_day(23, 0.74, 0.74), shadow_day(24, 0.74, 0.74)]
    decision = decide(in_shadow(days), SHADOW_GATE, "4", is_backfill=False)
    assert decision.decision == promotion.REJECTED
    # Weighted by realised trades: champion (0.75*3 + 0.74*2) / 5 = 0.746, challenger 0.734.
    assert decision.reasons == [
        "shadow: ROC AUC 0.7340 over 3 days is 0.0120 below the champion's 0.7460 on the same trades; "
        "at most 0.0100 is allowed"
    ]


def test_too_few_realised_fails_is_refused() -> None:
    days = [shadow_day(d, 0.74, 0.75, fails=10) for d in (20, 23, 24)]
    reasons = decide(in_shadow(days), SHADOW_GATE, "4", is_backfill=False).reasons
    assert reasons == ["shadow: 30 realised failed trades (minimum 100)"]


def test_the_shadow_check_is_off_at_zero_days_and_never_applies_to_a_bootstrap() -> None:
    assert decide(in_shadow([]), THRESHOLDS, "4", is_backfill=False).decision == promotion.PROMOTED
    first = {**evaluation(0.8, baseline_error="no alias 'champion'"), "shadow": []}
    assert decide(first, SHADOW_GATE, None, is_backfill=False).decision == promotion.BOOTSTRAPPED


def test_a_champion_that_could_not_be_evaluated_still_needs_a_shadow_record() -> None:
    unevaluated = {**evaluation(0.81, baseline_error="it takes other features"), "shadow": []}
    decision = decide(unevaluated, SHADOW_GATE, "4", is_backfill=False)
    assert decision.decision == promotion.REJECTED
    assert decision.reasons[0].startswith("shadow: 0 business days")


def test_waiting_for_a_shadow_record_does_not_page_doing_worse_in_shadow_does() -> None:
    waiting = decide(in_shadow([]), SHADOW_GATE, "4", is_backfill=False)
    worse = decide(
        in_shadow([shadow_day(d, 0.76, 0.70) for d in (20, 23, 24)]), SHADOW_GATE, "4", is_backfill=False
    )
    offline = decide(evaluation(0.75, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", False)
    assert (promotion.alerts(waiting), promotion.alerts(worse), promotion.alerts(offline)) == (
        False,
        True,
        True,
    )
    promoted = decide(evaluation(0.82, baseline_auc=0.80, baseline_version="4"), THRESHOLDS, "4", False)
    assert not promotion.alerts(promoted)
