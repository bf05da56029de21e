"""The answer to a promotion's approval request, case by case: what it decides and why (the
registry, audit and Kafka side: tests/integration/model/test_promotion_gate.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from include.markets_ops.training import promotion, tasks
from include.markets_ops.training.promotion import Decision, Review

PASSED = Decision(promotion.PROMOTED, "7", "6", "7", ["passed every check"])
FIRST = Decision(promotion.BOOTSTRAPPED, "1", None, "1", ["passed every check"])
AT = "2026-12-02T09:30:00+00:00"
RUN = promotion.RunInfo("settlement_risk_training", "manual__1", "admin", is_backfill=False)


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


def test_the_hitl_result_becomes_a_review() -> None:
    answered_at = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
    approved = tasks.review_of(
        {
            "chosen_options": ["Approve"],
            "params_input": {"comment": "  checked the window  "},
            "responded_at": answered_at,
            "responded_by_user": {"id": "op", "name": "op"},
        }
    )
    assert approved == Review(promotion.APPROVED, "op", AT, "checked the window")
    rejected = tasks.review_of(
        {
            "chosen_options": ["Reject"],
            "params_input": {},
            "responded_at": AT,
            "responded_by_user": {"id": "7", "name": "risk.officer"},
        }
    )
    assert rejected == Review(promotion.REVIEW_REJECTED, "risk.officer", AT, "")
    # The scheduler resolves an unanswered request with its default (Reject) and no user.
    unanswered = tasks.review_of(
        {"chosen_options": ["Reject"], "params_input": {"comment": ""}, "responded_at": answered_at,
         "responded_by_user": None}
    )  # fmt: skip
    assert unanswered == Review(promotion.TIMED_OUT, None, AT, "")


def test_only_a_pending_gate_asks_for_approval() -> None:
    assert tasks.needs_approval({"decision": promotion.PENDING_APPROVAL})
    assert not tasks.needs_approval({"decision": promotion.PROMOTED})
    assert not tasks.needs_approval({"decision": promotion.REJECTED})


@pytest.mark.parametrize(
    ("value", "required"),
    [(None, True), ("true", True), ("false", False), (" False ", False), ("0", False), ("off", False)],
)
def test_approval_is_required_unless_turned_off_on_purpose(
    monkeypatch: pytest.MonkeyPatch, value: str | None, required: bool
) -> None:
    monkeypatch.setattr(
        "airflow.sdk.Variable.get", lambda key, default=None: default if value is None else value
    )
    assert tasks.approval_required() is required
