"""The promotion's approval operator: options, default on timeout, and the Variables it reads
when it asks (never at parse time)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.providers.standard.operators.hitl import HITLOperator

from include.markets_ops.airflow import approval


def test_approvers_come_from_a_comma_separated_variable() -> None:
    assert approval.approvers(" op, risk.officer ,,") == [
        {"id": "op", "name": "op"},
        {"id": "risk.officer", "name": "risk.officer"},
    ]
    assert approval.approvers("") == []


def test_the_request_offers_approve_or_reject_with_a_comment_and_rejects_on_timeout() -> None:
    operator = approval.PromotionApprovalOperator(task_id="approve_promotion", subject="s", body="b")
    assert (operator.options, operator.defaults) == ([approval.APPROVE, approval.REJECT], [approval.REJECT])
    assert list(operator.serialized_params) == [approval.COMMENT]
    assert operator.response_timeout is None  # set from the Variable when it asks


def test_asking_reads_the_time_limit_and_the_approvers(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {approval.APPROVAL_HOURS_VARIABLE: "1.5", approval.APPROVERS_VARIABLE: "op,admin"}
    monkeypatch.setattr("airflow.sdk.Variable.get", lambda key, default=None: variables.get(key, default))
    asked: dict[str, Any] = {}

    def ask(self: HITLOperator, context: Any) -> None:
        asked.update(timeout=self.response_timeout, users=self.assigned_users)

    monkeypatch.setattr(HITLOperator, "execute", ask)
    operator = approval.PromotionApprovalOperator(task_id="approve_promotion", subject="s", body="b")
    operator.execute({})
    assert asked == {
        "timeout": dt.timedelta(hours=1.5),
        "users": [{"id": "op", "name": "op"}, {"id": "admin", "name": "admin"}],
    }
    variables.clear()  # unset: 48 hours, anyone allowed to edit the DAG
    operator.execute({})
    assert asked == {"timeout": dt.timedelta(hours=48), "users": None}
