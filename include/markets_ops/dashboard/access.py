"""Who may read what on the dashboard: every page, prefix and topic maps to the DAG that produces it.

The rule, declared once here and asked of Airflow's auth manager (plugins/ops_dashboard.py wires
``is_authorized_dag``), so a deployment's own roles and per-DAG permissions decide:

- what a DAG's runs publish (scores, reports, summaries, events, dry-run previews) is readable by
  anyone who may read that DAG's runs: ``GET`` on the DAG with ``DagAccessEntity.RUN``;
- the raw inputs a DAG produces (the feed's landing files, the training sets: labelled rows of
  trades) only by those who may operate that DAG: ``PUT`` on the DAG itself (FAB: ``can_edit`` on
  ``DAG:<dag_id>``; the simple auth manager: the User, Op and Admin roles, not Viewer).

A listing that spans several areas (``reports/``) needs every area it spans. Nothing else is
browsable (artifacts.py's allow-lists), and nothing here imports Airflow.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from include.markets_ops.services import topics

# The DAGs whose outputs the dashboard shows (dags/<dag_id>.py).
FEED_DAG = "ops_demo_feed"
TRAINING_DAG = "settlement_risk_training"
SCORING_DAG = "settlement_risk_scoring"
RECONCILIATION_DAG = "trade_reconciliation"
STATEMENTS_DAG = "custodian_statements"
ALERTS_DAG = "ops_sql_alerts"
STACK_SMOKE_DAG = "stack_smoke"


class Reach(enum.Enum):
    """What a user must be allowed on the producing DAG."""

    READ_RUNS = "read the runs of"  # GET, DagAccessEntity.RUN
    OPERATE = "operate (edit)"  # PUT on the DAG itself


@dataclass(frozen=True)
class Requirement:
    """Permission on one DAG (``dag_id=None``: on every DAG, for what all DAGs produce)."""

    dag_id: str | None
    reach: Reach

    def describe(self) -> str:
        target = f"DAG {self.dag_id}" if self.dag_id else "every DAG"
        return f"permission to {self.reach.value} {target}"


def read(dag_id: str | None) -> Requirement:
    return Requirement(dag_id, Reach.READ_RUNS)


def operate(dag_id: str) -> Requirement:
    return Requirement(dag_id, Reach.OPERATE)


@dataclass(frozen=True)
class Area:
    """An S3 prefix the pipelines write and who may read it."""

    prefix: str
    requirement: Requirement


# The raw inputs: the feed's files as delivered, and the training sets (labelled trade rows).
RAW_INPUT_PRODUCERS = (FEED_DAG, TRAINING_DAG)
# Dry-run previews live under previews/<dag_id>/...; the feed's previews hold its raw files.
PREVIEW_DAGS = (FEED_DAG, TRAINING_DAG, SCORING_DAG, RECONCILIATION_DAG, ALERTS_DAG)


def _preview_area(dag_id: str) -> Area:
    needed = operate(dag_id) if dag_id in RAW_INPUT_PRODUCERS else read(dag_id)
    return Area(f"previews/{dag_id}/", needed)


S3_AREAS: tuple[Area, ...] = (
    Area("landing/", operate(FEED_DAG)),
    Area("training-sets/", operate(TRAINING_DAG)),
    Area("scores/", read(SCORING_DAG)),
    Area("reports/recon/", read(RECONCILIATION_DAG)),
    Area("reports/alerts/", read(ALERTS_DAG)),
    *(_preview_area(dag_id) for dag_id in PREVIEW_DAGS),
)

TOPIC_REQUIREMENTS: Mapping[str, Requirement] = {
    topics.HIGH_RISK_TRADES.name: read(SCORING_DAG),  # the score job's high-risk trades
    topics.MODEL_EVENTS.name: read(TRAINING_DAG),  # the promotion gate's decisions
    topics.OPS_ALERTS.name: read(ALERTS_DAG),
    topics.RECON_SUMMARY.name: read(RECONCILIATION_DAG),
    topics.CUSTODIAN_STATEMENTS.name: read(STATEMENTS_DAG),  # the custodians' announcements
    topics.AIRFLOW_EVENTS.name: read(None),  # state changes, failures and missed deadlines of any DAG
    topics.LINEAGE_EVENTS.name: read(None),  # every DAG's runs and what they read and write
    topics.STACK_CHECKS.name: read(STACK_SMOKE_DAG),
}

# The dashboard's own page: scoring volumes, breaks and alerts.
DASHBOARD_REQUIREMENTS: tuple[Requirement, ...] = (
    read(SCORING_DAG),
    read(RECONCILIATION_DAG),
    read(ALERTS_DAG),
)

# (user, requirement) -> allowed: plugins/ops_dashboard.py asks Airflow's auth manager.
Authorize = Callable[[Any, Requirement], bool]


class NoAreaError(LookupError):
    """A prefix or topic that no declared area covers (so nobody may read it)."""


def requirements_for_prefix(prefix: str) -> tuple[Requirement, ...]:
    """Every requirement of the areas ``prefix`` reaches into: the area it lies in, or all the
    areas under it when it is a folder above them (``reports/``, ``previews/``)."""
    spanned = tuple(
        area.requirement
        for area in S3_AREAS
        if prefix.startswith(area.prefix) or area.prefix.startswith(prefix)
    )
    if not spanned:
        raise NoAreaError(f"prefix {prefix!r} is not under any of {[area.prefix for area in S3_AREAS]}")
    return tuple(dict.fromkeys(spanned))  # unique, in declaration order


def requirement_for_topic(topic: str) -> Requirement:
    try:
        return TOPIC_REQUIREMENTS[topic]
    except KeyError:
        raise NoAreaError(f"topic {topic!r} is not one of {sorted(TOPIC_REQUIREMENTS)}") from None


def missing(authorize: Authorize, user: Any, needed: tuple[Requirement, ...]) -> list[Requirement]:
    return [requirement for requirement in needed if not authorize(user, requirement)]


def refusal(user: Any, what: str, refused: list[Requirement]) -> str:
    """The 403 message: who, what, and which permission would open it."""
    name = getattr(user, "get_name", lambda: str(user))()
    needs = "; ".join(requirement.describe() for requirement in refused)
    return f"user {name!r} may not read {what}: it needs {needs}"
