"""The promotion gate: whether a newly trained version becomes the champion, and the rollback.

``decide`` is the rule, a pure function of the evaluation (challenger and champion on the same
later-in-time window, written by the ``evaluate`` job as the version's ``evaluation`` tag) and
the thresholds (Airflow Variables, declared in airflow_settings.yaml):

- the evaluation window has at least ``min_positives`` failed trades (else the metrics say little);
- the challenger's ROC AUC is at least ``min_roc_auc``;
- its calibration error is at most ``max_calibration_error`` (the scores are read as probabilities);
- with a champion: its ROC AUC is not below the champion's by more than ``max_auc_regression``.

Without a champion, a challenger that passes the absolute checks bootstraps the alias.
A backfill run, or an evaluation against a version other than the champion, never moves an
alias (``evaluated_only``). ``apply`` carries the decision out: aliases (``champion``, with
``previous_champion`` kept; or ``challenger`` when rejected), tags on the version, an audit
row in ml.model_promotions and an event on Kafka ``mlops.model-events``; a retried task
finishes the same decision instead of taking a new one.

With approval required (Variable ``model_promotion_requires_approval``, on by default), a decision
that would move the champion is held as ``pending_approval``: nothing moves, and the training run
asks a named approver in the Airflow UI (approval.py). ``run_review`` then carries out the answer:
approved moves the aliases as above, rejected or unanswered in time leaves the champion untouched
(recorded as ``rejected`` with the reviewer's reason). Who reviewed, when and their comment go into
the audit row, the version's ``review.*`` tags and the event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from include.markets_ops.errors import BadInputError
from include.markets_ops.services import model_registry, postgres
from include.markets_ops.services.model_registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from include.markets_ops.services.sql_files import read_sql

log = logging.getLogger(__name__)

EVENT_SCHEMA_VERSION = 2  # 2: the review (who approved, when, why)
EVALUATION_TAG = "evaluation"  # written by the evaluate job (model_pod/settlement_model/evaluation.py)
THRESHOLD_VARIABLES = {
    "min_roc_auc": "model_gate_min_roc_auc",
    "max_auc_regression": "model_gate_max_auc_regression",
    "max_calibration_error": "model_gate_max_calibration_error",
    "min_positives": "model_gate_min_positives",
}
SHADOW_REASON = "shadow: "  # the shadow check's reasons start so
SHADOW_WORSE = f"{SHADOW_REASON}ROC AUC"  # ... and this one says the challenger did worse
# The shadow check's thresholds (optional Variables: a deployment without them gets the defaults).
SHADOW_THRESHOLD_VARIABLES = {
    "shadow_min_days": ("model_gate_shadow_min_days", 3),
    "shadow_min_fails": ("model_gate_shadow_min_fails", 100),
    "shadow_max_auc_gap": ("model_gate_shadow_max_auc_gap", 0.01),
}
PROMOTED, BOOTSTRAPPED, REJECTED, ROLLED_BACK, EVALUATED_ONLY, ROLLBACK_REFUSED = (
    "promoted",
    "bootstrapped",
    "rejected",
    "rolled_back",
    "evaluated_only",
    "rollback_refused",
)
PENDING_APPROVAL = "pending_approval"  # a tag value and a task result, never an audit row
APPROVAL_REQUIRED_VARIABLE = "model_promotion_requires_approval"
# The review's outcomes (ml.model_promotions.review_outcome); NULL where no review applies.
APPROVED, REVIEW_REJECTED, TIMED_OUT, NOT_REQUIRED = "approved", "rejected", "timed_out", "not_required"
EMERGENCY = "emergency"  # a rollback carried out without approval, with the reason given


class GateError(BadInputError, RuntimeError):
    """The gate cannot decide (no evaluation, nothing to roll back to): the message says why."""


@dataclass(frozen=True)
class Thresholds:
    min_roc_auc: float
    max_auc_regression: float
    max_calibration_error: float
    min_positives: int
    # In shadow, beside the champion: at least this many business days with realised fails, this
    # many realised fails in all, and a mean ROC AUC (the days' ROC AUCs weighted by realised
    # trades) at most this far below the champion's.
    # shadow_min_days 0 turns the shadow check off.
    shadow_min_days: int = 0
    shadow_min_fails: int = 0
    shadow_max_auc_gap: float = 0.0


@dataclass(frozen=True)
class RunInfo:
    """Who and what asked for the decision (recorded in the audit row and the event)."""

    dag_id: str
    dag_run_id: str
    triggered_by: str
    is_backfill: bool


@dataclass(frozen=True)
class Decision:
    decision: str
    candidate_version: str
    champion_before: str | None
    champion_after: str | None
    reasons: list[str] = field(default_factory=list)

    @property
    def moves_champion(self) -> bool:
        return self.decision in (PROMOTED, BOOTSTRAPPED, ROLLED_BACK)


@dataclass(frozen=True)
class Review:
    """A person's answer to an approval request (or its absence: ``timed_out``, ``not_required``)."""

    outcome: str
    reviewed_by: str | None = None
    reviewed_at: str | None = None  # ISO 8601, UTC
    comment: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mlflow_failures(
    evaluation: dict[str, Any], thresholds: Thresholds, *, against_champion: bool
) -> set[str]:
    """The metric checks that fail, as ``mlflow.validate_evaluation_results`` judges them (one call
    per check, so each failure is known by name): ROC AUC and calibration error against their
    thresholds, and, against the champion as baseline, the ROC AUC regression.

    MLflow's ``min_absolute_change`` asks for an improvement (it must be > 0); a tolerated
    regression has no form there, so it is a value threshold computed from the champion's ROC AUC.
    """
    import mlflow
    from mlflow.models import EvaluationResult, MetricThreshold
    from mlflow.models.evaluation.validation import ModelValidationFailedException

    candidate = EvaluationResult(metrics=evaluation["challenger"], artifacts={})
    checks: dict[str, tuple[dict[str, MetricThreshold], EvaluationResult | None]] = {
        "min_roc_auc": (
            {"roc_auc": MetricThreshold(threshold=thresholds.min_roc_auc, greater_is_better=True)},
            None,
        ),
        "max_calibration_error": (
            {
                "calibration_error": MetricThreshold(
                    threshold=thresholds.max_calibration_error, greater_is_better=False
                )
            },
            None,
        ),
    }
    if against_champion:
        floor = float(evaluation["baseline"]["roc_auc"]) - thresholds.max_auc_regression
        checks["max_auc_regression"] = (
            {"roc_auc": MetricThreshold(threshold=floor, greater_is_better=True)},
            EvaluationResult(metrics=evaluation["baseline"], artifacts={}),
        )
    failed = set()
    for name, (threshold, baseline) in checks.items():
        try:
            mlflow.validate_evaluation_results(threshold, candidate, baseline)
        except ModelValidationFailedException:
            failed.add(name)
    return failed


def check_absolute(evaluation: dict[str, Any], thresholds: Thresholds, failed: set[str]) -> list[str]:
    """The reasons for the failed absolute checks: MLflow's (``failed``) and the minimum positives,
    which MLflow has no form for (it is a property of the window, not a metric of the model)."""
    challenger = evaluation["challenger"]
    failures = []
    if evaluation["positives"] < thresholds.min_positives:
        failures.append(
            f"only {evaluation['positives']} failed trades in the evaluation window "
            f"(minimum {thresholds.min_positives})"
        )
    if "min_roc_auc" in failed:
        failures.append(
            f"ROC AUC {challenger['roc_auc']:.4f} is below the minimum {thresholds.min_roc_auc:.4f}"
        )
    if "max_calibration_error" in failed:
        failures.append(
            f"calibration error {challenger['calibration_error']:.4f} is above the maximum "
            f"{thresholds.max_calibration_error:.4f}"
        )
    return failures


@dataclass(frozen=True)
class ShadowSummary:
    """A shadow record as the gate judges it: the days that count (both ROC AUCs defined on the
    day's realised trades: some failed, some did not), their realised fails, and each model's
    mean ROC AUC over them, weighted by realised trades (None without such a day)."""

    days: int
    fails: int
    champion_roc_auc: float | None
    challenger_roc_auc: float | None


def shadow_summary(shadow_days: list[dict[str, Any]]) -> ShadowSummary:
    days = [
        d
        for d in shadow_days
        if d["fails"] > 0 and d["champion_roc_auc"] is not None and d["challenger_roc_auc"] is not None
    ]
    if not days:
        return ShadowSummary(0, 0, None, None)
    weights = sum(d["realised_trades"] for d in days)

    def mean(key: str) -> float:
        return float(sum(d[key] * d["realised_trades"] for d in days) / weights)

    fails = sum(d["fails"] for d in days)
    return ShadowSummary(len(days), fails, mean("champion_roc_auc"), mean("challenger_roc_auc"))


def shadow_failures(
    shadow_days: list[dict[str, Any]], thresholds: Thresholds, champion_version: str
) -> list[str]:
    """Why the challenger's shadow record beside the champion is not enough to replace it (none:
    it is). The project's own check: MLflow has no form for evidence gathered night after night."""
    if thresholds.shadow_min_days <= 0:
        return []
    record = shadow_summary(shadow_days)
    failures = []
    if record.days < thresholds.shadow_min_days:
        failures.append(
            f"{SHADOW_REASON}{record.days} business days of realised outcomes beside champion version "
            f"{champion_version} (minimum {thresholds.shadow_min_days}); as the challenger it is scored "
            "in shadow each night: gate it again when it has them"
        )
    if record.fails < thresholds.shadow_min_fails:
        failures.append(
            f"{SHADOW_REASON}{record.fails} realised failed trades (minimum {thresholds.shadow_min_fails})"
        )
    if record.champion_roc_auc is not None and record.challenger_roc_auc is not None:
        gap = record.champion_roc_auc - record.challenger_roc_auc
        if gap > thresholds.shadow_max_auc_gap:
            failures.append(
                f"{SHADOW_WORSE} {record.challenger_roc_auc:.4f} over {record.days} days is {gap:.4f} below "
                f"the champion's {record.champion_roc_auc:.4f} on the same trades; at most "
                f"{thresholds.shadow_max_auc_gap:.4f} is allowed"
            )
    return failures


def decide(
    evaluation: dict[str, Any], thresholds: Thresholds, champion_version: str | None, is_backfill: bool
) -> Decision:
    """The gate's decision for the evaluated challenger, given the champion now."""
    candidate = str(evaluation["challenger_version"])
    baseline_version = evaluation.get("baseline_version")
    baseline = evaluation.get("baseline")
    against_champion = bool(
        champion_version is not None and baseline_version == champion_version and baseline
    )
    failed = mlflow_failures(evaluation, thresholds, against_champion=against_champion)
    failures = check_absolute(evaluation, thresholds, failed)
    notes: list[str] = []
    if against_champion and baseline:
        regression = baseline["roc_auc"] - evaluation["challenger"]["roc_auc"]
        if "max_auc_regression" in failed:
            failures.append(
                f"ROC AUC {evaluation['challenger']['roc_auc']:.4f} is {regression:.4f} below the champion's "
                f"(version {champion_version}: {baseline['roc_auc']:.4f}); at most "
                f"{thresholds.max_auc_regression:.4f} is allowed"
            )
    elif champion_version is not None and baseline_version not in (None, champion_version):
        notes.append(
            f"evaluated against version {baseline_version}, not the champion (version {champion_version}): "
            "evaluation only"
        )
    elif champion_version is not None:
        # The champion exists but could not score the window (e.g. it takes other features):
        # it could not score tonight's trades either, so the absolute checks decide.
        notes.append(f"the champion could not be evaluated: {evaluation.get('baseline_error')}")
    if champion_version is not None:
        # Whatever the offline evaluation could judge: nothing replaces a champion without a
        # shadow record beside it.
        failures += shadow_failures(evaluation.get("shadow") or [], thresholds, champion_version)

    if is_backfill:
        return Decision(
            EVALUATED_ONLY,
            candidate,
            champion_version,
            champion_version,
            [*failures, *notes, "backfill runs never promote"],
        )
    if notes and notes[0].startswith("evaluated against version"):
        return Decision(EVALUATED_ONLY, candidate, champion_version, champion_version, [*failures, *notes])
    if failures:
        return Decision(REJECTED, candidate, champion_version, champion_version, [*failures, *notes])
    outcome = BOOTSTRAPPED if champion_version is None else PROMOTED
    return Decision(outcome, candidate, champion_version, candidate, notes or ["passed every check"])


def alerts(decision: Decision) -> bool:
    """Whether consumers should page on the decision: a rejection, unless its only reasons are the
    shadow days and fails a new candidate cannot have yet (the expected way to become the
    challenger). Doing worse than the champion in shadow pages."""
    if decision.decision != REJECTED:
        return False
    return not all(waits_for_shadow_evidence(reason) for reason in decision.reasons)


def waits_for_shadow_evidence(reason: str) -> bool:
    """Whether a reason of the gate is the shadow check's too-few days or fails (not a challenger
    that did worse)."""
    return reason.startswith(SHADOW_REASON) and not reason.startswith(SHADOW_WORSE)


def held_for_approval(decision: Decision) -> Decision:
    """A decision that would move the champion, held until a person approves it: nothing moves."""
    return Decision(
        PENDING_APPROVAL, decision.candidate_version, decision.champion_before, decision.champion_before,
        decision.reasons,
    )  # fmt: skip


def why_not_approved(
    pending: Decision, review: Review, champion_now: str | None, triggered_by: str
) -> str | None:
    """Why an answer to the approval request does not promote (None: it does)."""
    if review.outcome == TIMED_OUT:
        return "no approver answered the approval request before it timed out"
    if review.outcome != APPROVED:
        return f"rejected by {review.reviewed_by}: {review.comment or 'no comment given'}"
    if review.reviewed_by == triggered_by:
        return (
            f"approved by {review.reviewed_by}, who also triggered the run: a promotion needs a second "
            "person (four eyes)"
        )
    if champion_now != pending.champion_before:
        return (
            f"the champion changed from version {pending.champion_before} to {champion_now} while the "
            "request waited: train again and ask again"
        )
    return None


def review_decision(
    pending: Decision, review: Review, champion_now: str | None, triggered_by: str
) -> Decision:
    """What the answer to the approval request decides for the pending candidate."""
    refusal = why_not_approved(pending, review, champion_now, triggered_by)
    candidate = pending.candidate_version
    if refusal is not None:
        return Decision(REJECTED, candidate, champion_now, champion_now, [*pending.reasons, refusal])
    comment = f": {review.comment}" if review.comment else ""
    outcome = BOOTSTRAPPED if pending.champion_before is None else PROMOTED
    return Decision(
        outcome, candidate, pending.champion_before, candidate,
        [*pending.reasons, f"approved by {review.reviewed_by}{comment}"],
    )  # fmt: skip


# --------------------------------------------------------------------------- applying it


def evaluation_of(mlflow_client: Any, model_name: str, version: str) -> dict[str, Any]:
    tags = model_registry.existing_version(mlflow_client, version, model_name).tags or {}
    if EVALUATION_TAG not in tags:
        raise GateError(
            f"{model_name} version {version} has no '{EVALUATION_TAG}' tag: run the evaluate job first"
        )
    return dict(json.loads(tags[EVALUATION_TAG]))


def _recorded(
    conn: Any,
    model_name: str,
    candidate: str,
    run: RunInfo,
    decisions: list[str],
    *,
    review: Review | None = None,
) -> dict[str, Any] | None:
    row = conn.execute(
        read_sql("ml/find_model_promotion.sql"),
        {
            "model_name": model_name,
            "candidate_version": candidate,
            "dag_run_id": run.dag_run_id,
            "decisions": decisions,
            "reviewed_at": review.reviewed_at if review else None,
        },
    ).fetchone()
    return dict(row) if row else None


def _record(
    conn: Any,
    model_name: str,
    decision: Decision,
    run: RunInfo,
    *,
    evaluation: dict[str, Any] | None,
    thresholds: Thresholds | None,
    review: Review | None = None,
) -> dict[str, Any]:
    from psycopg.types.json import Jsonb

    metrics: dict[str, Any] = {}
    window: dict[str, Any] = {}
    if evaluation:
        metrics = {
            "challenger": evaluation.get("challenger"),
            "baseline": evaluation.get("baseline"),
            "baseline_version": evaluation.get("baseline_version"),
            "rows": evaluation.get("rows"),
            "positives": evaluation.get("positives"),
            "shadow": evaluation.get("shadow"),
        }
        window = evaluation.get("window") or {}
    row = conn.execute(
        read_sql("ml/insert_model_promotion.sql"),
        {
            "model_name": model_name,
            "candidate_version": decision.candidate_version,
            "previous_champion_version": decision.champion_before,
            "decision": decision.decision,
            "reasons": Jsonb(decision.reasons),
            "metrics": Jsonb(metrics),
            "thresholds": Jsonb(asdict(thresholds) if thresholds else {}),
            "evaluation_window": Jsonb(window),
            "dag_id": run.dag_id,
            "dag_run_id": run.dag_run_id,
            "triggered_by": run.triggered_by,
            "is_backfill": run.is_backfill,
            "review_outcome": review.outcome if review else None,
            "reviewed_by": review.reviewed_by if review else None,
            "reviewed_at": review.reviewed_at if review else None,
            "review_comment": (review.comment or None) if review else None,
        },
    ).fetchone()
    return dict(row)


def event(
    model_name: str,
    decision: Decision,
    run: RunInfo,
    *,
    evaluation: dict[str, Any] | None,
    thresholds: Thresholds | None,
    review: Review | None = None,
) -> tuple[str, dict[str, Any]]:
    """The mlops.model-events message: key = model/run/candidate/decision, and the answer's time when
    a person was asked (a retry republishes the same key; a second request in the run gets its own)."""
    key = f"{model_name}/{run.dag_run_id}/{decision.candidate_version}/{decision.decision}"
    if review and review.reviewed_at:
        key += f"/{review.outcome}@{review.reviewed_at}"
    value = {
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_type": "model_gate_decision" if decision.decision != ROLLED_BACK else "model_rollback",
        "model_name": model_name,
        "decision": decision.decision,
        "candidate_version": decision.candidate_version,
        "champion_before": decision.champion_before,
        "champion_after": decision.champion_after,
        "reasons": decision.reasons,
        "challenger_metrics": (evaluation or {}).get("challenger"),
        "champion_metrics": (evaluation or {}).get("baseline"),
        "evaluation_window": (evaluation or {}).get("window"),
        "shadow": (evaluation or {}).get("shadow"),
        "thresholds": asdict(thresholds) if thresholds else None,
        "dag_id": run.dag_id,
        "dag_run_id": run.dag_run_id,
        "triggered_by": run.triggered_by,
        "is_backfill": run.is_backfill,
        "review": review.as_dict() if review else None,
        # A rejected challenger is worth a look: consumers page on this flag.
        "alert": alerts(decision),
    }
    return key, value


def _tag_decision(mlflow_client: Any, model_name: str, decision: Decision, run: RunInfo) -> None:
    tags = {
        "gate.decision": decision.decision,
        "gate.reasons": json.dumps(decision.reasons),
        "gate.champion_before": decision.champion_before or "",
        "gate.dag_run_id": run.dag_run_id,
        "gate.triggered_by": run.triggered_by,
        "gate.decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    for key, value in tags.items():
        mlflow_client.set_model_version_tag(model_name, decision.candidate_version, key, value)


def _tag_review(mlflow_client: Any, model_name: str, decision: Decision, review: Review) -> None:
    tags = {
        "review.outcome": review.outcome,
        "review.reviewed_by": review.reviewed_by or "",
        "review.reviewed_at": review.reviewed_at or "",
        "review.comment": review.comment,
        "review.decision": decision.decision,
        "review.champion_before": decision.champion_before or "",
        "review.reasons": json.dumps(decision.reasons),
    }
    for key, value in tags.items():
        mlflow_client.set_model_version_tag(model_name, decision.candidate_version, key, value)


def _decision_from_tags(tags: dict[str, str], candidate: str, prefix: str = "gate.") -> Decision:
    """The decision the tags under ``prefix`` record (``gate.``: the gate's, ``review.``: the answer's)."""
    before = tags.get(f"{prefix}champion_before") or None
    outcome = tags[f"{prefix}decision"]
    after = candidate if outcome in (PROMOTED, BOOTSTRAPPED) else before
    return Decision(outcome, candidate, before, after, json.loads(tags.get(f"{prefix}reasons", "[]")))


def _move_aliases(mlflow_client: Any, model_name: str, decision: Decision) -> None:
    """Set the aliases a decision implies (idempotent: a retry sets the same values)."""
    if decision.decision in (PROMOTED, BOOTSTRAPPED):
        if decision.champion_before:
            mlflow_client.set_registered_model_alias(model_name, PREVIOUS_CHAMPION, decision.champion_before)
        mlflow_client.set_registered_model_alias(model_name, CHAMPION, decision.candidate_version)
        if model_registry.alias_version(mlflow_client, CHALLENGER, model_name) == decision.candidate_version:
            mlflow_client.delete_registered_model_alias(model_name, CHALLENGER)
    elif decision.decision == REJECTED:
        mlflow_client.set_registered_model_alias(model_name, CHALLENGER, decision.candidate_version)


@dataclass(frozen=True)
class Services:
    """Where the gate reads and writes: the MLflow registry, the warehouse, Kafka."""

    mlflow_client: Any
    database_url: str
    kafka_config: dict[str, Any]
    model_name: str = model_registry.MODEL_NAME


def with_shadow_record(
    services: Services,
    evaluation: dict[str, Any],
    candidate_version: str,
    champion: str | None,
    thresholds: Thresholds,
) -> dict[str, Any]:
    """The evaluation with the candidate's shadow record beside the champion (``shadow``, latest
    date first), when the shadow check applies."""
    if champion is None or thresholds.shadow_min_days <= 0 or champion == candidate_version:
        return evaluation
    from include.markets_ops.scoring import shadow

    record = shadow.evidence(services.database_url, services.model_name, candidate_version, champion)
    return {**evaluation, "shadow": record}


def run_gate(
    services: Services,
    candidate_version: str,
    thresholds: Thresholds,
    run: RunInfo,
    *,
    approval_required: bool,
) -> dict[str, Any]:
    """Decide (or resume this run's earlier decision), then apply, record and publish it, or hold it
    for approval (``pending_approval``: nothing moves, nothing is recorded until the answer)."""
    mlflow_client, model_name = services.mlflow_client, services.model_name
    evaluation = evaluation_of(mlflow_client, model_name, candidate_version)
    tags = model_registry.existing_version(mlflow_client, candidate_version, model_name).tags or {}
    champion = model_registry.alias_version(mlflow_client, CHAMPION, model_name)
    # Read on a retry too: the request, the audit row and the event show the record judged.
    evaluation = with_shadow_record(services, evaluation, candidate_version, champion, thresholds)
    if tags.get("gate.dag_run_id") == run.dag_run_id and "gate.decision" in tags:
        decision = _decision_from_tags(tags, candidate_version)  # a retry: finish, never re-decide
        log.info("resuming this run's earlier decision: %s", decision)
    else:
        decision = decide(evaluation, thresholds, champion, run.is_backfill)
        if approval_required and decision.decision in (PROMOTED, BOOTSTRAPPED):
            decision = held_for_approval(decision)
        _tag_decision(mlflow_client, model_name, decision, run)
    if decision.decision == PENDING_APPROVAL:
        _, value = event(model_name, decision, run, evaluation=evaluation, thresholds=thresholds)
        log.info("version %s passed the gate and waits for approval", candidate_version)
        return {**value, "promotion_id": None, "event_key": None}
    review = Review(NOT_REQUIRED) if decision.decision in (PROMOTED, BOOTSTRAPPED) else None
    return _carry_out(services, decision, run, evaluation=evaluation, thresholds=thresholds, review=review)


def run_review(
    services: Services, candidate_version: str, thresholds: Thresholds, run: RunInfo, review: Review
) -> dict[str, Any]:
    """Carry out the answer to this run's approval request for ``candidate_version``."""
    mlflow_client, model_name = services.mlflow_client, services.model_name
    evaluation = evaluation_of(mlflow_client, model_name, candidate_version)
    tags = model_registry.existing_version(mlflow_client, candidate_version, model_name).tags or {}
    if tags.get("gate.dag_run_id") != run.dag_run_id or tags.get("gate.decision") != PENDING_APPROVAL:
        raise GateError(
            f"{model_name} version {candidate_version} has no approval request from run {run.dag_run_id} "
            f"(its gate decision: {tags.get('gate.decision')!r} in run {tags.get('gate.dag_run_id')!r})"
        )
    if review.reviewed_at and tags.get("review.reviewed_at") == review.reviewed_at:
        decision = _decision_from_tags(tags, candidate_version, prefix="review.")  # a retry: finish it
    else:
        pending = _decision_from_tags(tags, candidate_version)
        champion = model_registry.alias_version(mlflow_client, CHAMPION, model_name)
        evaluation = with_shadow_record(services, evaluation, candidate_version, champion, thresholds)
        decision = review_decision(pending, review, champion, run.triggered_by)
        _tag_review(mlflow_client, model_name, decision, review)
    if decision.decision == REJECTED:
        log.warning("version %s not promoted: %s", candidate_version, decision.reasons[-1])
    return _carry_out(services, decision, run, evaluation=evaluation, thresholds=thresholds, review=review)


def _carry_out(
    services: Services,
    decision: Decision,
    run: RunInfo,
    *,
    evaluation: dict[str, Any],
    thresholds: Thresholds,
    review: Review | None,
) -> dict[str, Any]:
    """Move the aliases, record the audit row (once) and publish the event (same key on a retry)."""
    from psycopg.rows import dict_row

    from include.markets_ops.services.kafka import publish
    from include.markets_ops.services.topics import MODEL_EVENTS

    model_name = services.model_name
    _move_aliases(services.mlflow_client, model_name, decision)
    with postgres.connect(services.database_url, row_factory=dict_row) as conn:
        audit = _recorded(
            conn, model_name, decision.candidate_version, run, [decision.decision], review=review
        ) or _record(
            conn, model_name, decision, run, evaluation=evaluation, thresholds=thresholds, review=review
        )
    key, value = event(model_name, decision, run, evaluation=evaluation, thresholds=thresholds, review=review)
    publish(services.kafka_config, MODEL_EVENTS.name, [(key, value)])
    if decision.decision == REJECTED and review is None:
        log.warning("challenger %s rejected: %s", decision.candidate_version, "; ".join(decision.reasons))
    return {**value, "promotion_id": audit["promotion_id"], "event_key": key}


def rollback_target(mlflow_client: Any, model_name: str) -> dict[str, str]:
    """The rollback a run would carry out: the champion now and the version it would restore."""
    champion = model_registry.alias_version(mlflow_client, CHAMPION, model_name)
    previous = model_registry.alias_version(mlflow_client, PREVIOUS_CHAMPION, model_name)
    if champion is None or previous is None:
        raise GateError(f"{model_name} has no '{PREVIOUS_CHAMPION}' alias: nothing to roll back to")
    return {"model_name": model_name, "champion": champion, "restore": previous}


def run_rollback(
    services: Services, run: RunInfo, review: Review, planned_champion: str | None = None
) -> dict[str, Any]:
    """Point ``champion`` back at ``previous_champion`` (audited like a promotion), when the review
    approves it (a named approver, not the one who asked; or an emergency with its reason) and the
    champion is still ``planned_champion`` (the one the approver saw). Otherwise nothing moves
    and a ``rollback_refused`` decision is recorded with the reason.

    The demoted version keeps a ``rolled_back`` tag; ``previous_champion`` is removed, so a
    second rollback cannot flip back to the version just demoted.
    """
    from psycopg.rows import dict_row

    from include.markets_ops.services.kafka import publish
    from include.markets_ops.services.topics import MODEL_EVENTS

    mlflow_client, model_name = services.mlflow_client, services.model_name
    with postgres.connect(services.database_url, row_factory=dict_row) as conn:
        done = conn.execute(
            read_sql("ml/find_rollback_of_run.sql"),
            {"model_name": model_name, "dag_run_id": run.dag_run_id, "reviewed_at": review.reviewed_at},
        ).fetchone()
        if done is not None:  # a retry: finish what this run decided on this answer
            restored, demoted = done["candidate_version"], done["previous_champion_version"]
            outcome, reasons = done["decision"], list(done["reasons"])
        else:
            champion = model_registry.alias_version(mlflow_client, CHAMPION, model_name)
            previous = model_registry.alias_version(mlflow_client, PREVIOUS_CHAMPION, model_name)
            if previous is None:
                raise GateError(f"{model_name} has no '{PREVIOUS_CHAMPION}' alias: nothing to roll back to")
            restored, demoted = previous, champion
            refusal = _rollback_refusal(review, planned_champion or champion, champion, run)
            outcome = ROLLBACK_REFUSED if refusal else ROLLED_BACK
            reasons = [refusal] if refusal else [_rollback_reason(review, run, demoted, restored)]
        after = restored if outcome == ROLLED_BACK else demoted
        decision = Decision(outcome, restored, demoted, after, reasons)
        if outcome == ROLLED_BACK:
            _restore(mlflow_client, model_name, restored, demoted, run)
        audit = done or _record(
            conn, model_name, decision, run, evaluation=None, thresholds=None, review=review
        )
    key, value = event(model_name, decision, run, evaluation=None, thresholds=None, review=review)
    publish(services.kafka_config, MODEL_EVENTS.name, [(key, value)])
    return {**value, "promotion_id": audit["promotion_id"], "event_key": key}


def _restore(mlflow_client: Any, model_name: str, restored: str, demoted: str | None, run: RunInfo) -> None:
    """``champion`` back to ``restored`` (idempotent: a retry after it moved changes nothing)."""
    if model_registry.alias_version(mlflow_client, CHAMPION, model_name) == restored:
        return
    mlflow_client.set_registered_model_alias(model_name, CHAMPION, restored)
    if demoted:
        mlflow_client.set_model_version_tag(model_name, demoted, "rolled_back", run.dag_run_id)
    mlflow_client.delete_registered_model_alias(model_name, PREVIOUS_CHAMPION)


def _rollback_refusal(
    review: Review, planned_champion: str | None, champion_now: str | None, run: RunInfo
) -> str | None:
    if review.outcome == EMERGENCY:
        return None if review.comment else "an emergency rollback needs a reason"
    pending = Decision(PENDING_APPROVAL, "", planned_champion, planned_champion)
    refusal = why_not_approved(pending, review, champion_now, run.triggered_by)
    return f"rollback not carried out: {refusal}" if refusal else None


def _rollback_reason(review: Review, run: RunInfo, demoted: str | None, restored: str) -> str:
    if review.outcome == EMERGENCY:
        return (
            f"emergency rollback by {run.triggered_by}: {review.comment}; "
            f"version {demoted} replaced by {restored}"
        )
    comment = f": {review.comment}" if review.comment else ""
    return (
        f"rollback asked by {run.triggered_by}, approved by {review.reviewed_by}{comment}; "
        f"version {demoted} replaced by {restored}"
    )
