"""The promotion's approval request: Airflow's human-in-the-loop operator, with the answer options,
the comment field, the time limit and the approvers of this project.

Approve / Reject with a comment; no answer within ``model_promotion_approval_hours`` (Variable,
default 48) counts as Reject, and the scheduler resolves it with no user (promotion.TIMED_OUT).
Who may answer: the users named in ``model_promotion_approvers`` (Variable, comma-separated user
names; Airflow refuses anyone else with 403); empty means anyone the auth manager lets edit the
DAG. Both are read when the request is made, never at parse time.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

if TYPE_CHECKING:
    from airflow.sdk.execution_time.hitl import HITLUser

APPROVE, REJECT = "Approve", "Reject"
COMMENT = "comment"
APPROVAL_HOURS_VARIABLE = "model_promotion_approval_hours"
APPROVERS_VARIABLE = "model_promotion_approvers"
DEFAULT_APPROVAL_HOURS = 48.0


def approvers(names: str) -> list[HITLUser]:
    """The HITL assigned users from the Variable's comma-separated user names (the simple auth
    manager's user id is the name)."""
    return [{"id": name, "name": name} for name in (part.strip() for part in names.split(",")) if name]


class PromotionApprovalOperator(HITLOperator):
    """Asks an approver to promote the candidate the gate passed (subject and body: templated)."""

    def __init__(self, **kwargs: Any) -> None:
        # The DAG's own params (its trigger form) arrive here too; the request's form is the comment.
        kwargs.pop("params", None)
        super().__init__(
            options=[APPROVE, REJECT],
            defaults=[REJECT],  # what the request resolves to when it times out
            params={
                COMMENT: Param(
                    "",
                    type="string",
                    title="Comment",
                    description="Why you approve or reject (recorded with your name).",
                )
            },
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        from airflow.sdk import Variable

        hours = float(Variable.get(APPROVAL_HOURS_VARIABLE, default=str(DEFAULT_APPROVAL_HOURS)))
        self.response_timeout = dt.timedelta(hours=hours)
        self.assigned_users = approvers(Variable.get(APPROVERS_VARIABLE, default="")) or None
        return super().execute(context)
