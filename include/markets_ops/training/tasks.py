"""The ``settlement_risk_training`` DAG's tasks around the training pods, named as them: the only
module of the pipeline that sees the Airflow context, its Variables, connections and links.

``plan_training`` turns the trigger form into the jobs' arguments (plan.py), ``choose_path``
picks training or the rollback, ``promotion_gate`` and ``rollback_champion`` carry out the
gate's decision (promotion.py) and announce a new champion; when the gate's pass waits for a
person, ``needs_approval`` lets the approval request run and ``review_promotion`` carries out the
answer (approval_request.py writes the request), ``report_ground_truth_quality``
reports the model against the synthetic ground truth (model_quality.py), where there is one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from settlement_model import contract

from include.markets_ops.airflow import connections, links
from include.markets_ops.airflow.assets import CHAMPION_CHANGES, CHAMPION_MODEL
from include.markets_ops.airflow.business_date import resolve_business_date
from include.markets_ops.services import model_registry, postgres
from include.markets_ops.services.topics import MODEL_EVENTS
from include.markets_ops.training import plan, promotion


def plan_training(context: Mapping[str, Any]) -> dict[str, Any]:
    """The run's plan from its trigger form (the defaults where a value is not given); gating the
    standing challenger again pins its version now, and fails (not retried) without one. A
    scheduled run gates the standing challenger once its shadow record is long enough, and
    trains otherwise."""
    params = context.get("params") or {}
    challenger = None
    if params.get(plan.GATE_CHALLENGER_PARAM) and not params.get(plan.ROLLBACK_PARAM):
        challenger = _standing_challenger()
    elif _is_scheduled(context):
        challenger = challenger_ready_for_the_gate()
    return plan.TrainingPlan(
        training_date=resolve_business_date(context),
        rollback=bool(params.get(plan.ROLLBACK_PARAM)),
        against_version=params.get(plan.AGAINST_VERSION_PARAM) or None,
        ignore_features=tuple(params.get(plan.IGNORE_FEATURES_PARAM) or ()),
        train_days=int(params.get(plan.TRAIN_DAYS_PARAM) or contract.DEFAULT_TRAIN_DAYS),
        holdout_days=int(params.get(plan.HOLDOUT_DAYS_PARAM) or contract.DEFAULT_HOLDOUT_DAYS),
        run_id=str(context["run_id"]),
        challenger_version=challenger,
    ).as_xcom()


def _standing_challenger() -> str:
    version = model_registry.alias_version(connections.mlflow_client(), model_registry.CHALLENGER)
    if version is None:
        raise promotion.GateError(
            f"{plan.GATE_CHALLENGER_PARAM}: {model_registry.MODEL_NAME} has no '{model_registry.CHALLENGER}' "
            "alias to gate (a training run that the gate does not promote sets it)"
        )
    return version


def _is_scheduled(context: Mapping[str, Any]) -> bool:
    run_type = context["dag_run"].run_type
    return str(getattr(run_type, "value", run_type)) == "scheduled"


def challenger_ready_for_the_gate() -> str | None:
    """The standing challenger, if its shadow record beside the champion now has the days and
    the fails the gate asks for (whether it did well enough is the gate's to judge); else None."""
    from include.markets_ops.scoring import shadow

    client = connections.mlflow_client()
    champion = model_registry.alias_version(client, model_registry.CHAMPION)
    challenger = model_registry.alias_version(client, model_registry.CHALLENGER)
    thresholds = thresholds_from_variables()
    if champion is None or challenger in (None, champion) or thresholds.shadow_min_days <= 0:
        return None
    assert challenger is not None
    record = shadow.evidence(connections.postgres_url(), model_registry.MODEL_NAME, challenger, champion)
    failures = promotion.shadow_failures(record, thresholds, champion)  # the gate's own rule
    return None if any(promotion.waits_for_shadow_evidence(f) for f in failures) else challenger


def choose_path(mode: str) -> str:
    """The branch's next task: the rollback's plan, or the training set's snapshot."""
    return "plan_rollback" if mode == "rollback" else "build_training_set"


def evaluation_arguments(planned_arguments: list[str]) -> list[str]:
    """The evaluate job's arguments, handed over once the snapshot is built: evaluate_challenger
    then runs after training, or straight after the snapshot when the standing challenger is
    gated again; on a rollback this task is skipped with the snapshot, and so is the evaluation
    (plan_training, which succeeds on every path, is not the evaluation's upstream)."""
    return list(planned_arguments)


def choose_candidate(mode: str) -> str:
    """After the snapshot: train a new version, or evaluate the standing challenger on it."""
    return "evaluate_challenger" if mode == "challenger" else "train_model"


def plan_rollback(context: Mapping[str, Any]) -> dict[str, Any]:
    """What the rollback would do (champion now, version restored), and its approval request;
    fails without retries (GateError) when there is nothing to roll back to."""
    from include.markets_ops.training import approval_request

    mlflow_client = connections.mlflow_client()
    target = promotion.rollback_target(mlflow_client, model_registry.MODEL_NAME)
    reason = str((context.get("params") or {}).get(plan.EMERGENCY_REASON_PARAM) or "").strip()
    run = run_info(context)
    planned = {
        **target,
        "emergency_reason": reason,
        "dag_run_id": run.dag_run_id,
        "triggered_by": run.triggered_by,
    }
    version_url = _version_url(target["model_name"])
    planned["approval_subject"] = approval_request.rollback_subject(planned)
    planned["approval_body"] = approval_request.rollback_body(planned, version_url)
    return planned


def needs_rollback_approval(planned: Mapping[str, Any]) -> bool:
    """An emergency rollback (with its reason) asks nobody; any other asks an approver."""
    return not planned["emergency_reason"]


def promotion_gate(
    context: Mapping[str, Any], training_date: str, challenger_version: str | None = None
) -> dict[str, Any]:
    """The gate's decision on the version trained on ``training_date``'s snapshot (or on the
    standing challenger gated again), linked."""
    mlflow_client = connections.mlflow_client()
    version = challenger_version or plan.candidate_version(
        connections.s3_client(),
        connections.s3_bucket(),
        mlflow_client,
        model_registry.MODEL_NAME,
        dt.date.fromisoformat(training_date),
    )
    services = promotion.Services(mlflow_client, connections.postgres_url(), connections.kafka_config())
    decision = promotion.run_gate(
        services,
        version,
        thresholds_from_variables(),
        run_info(context),
        approval_required=approval_required(),
    )
    _announce_champion(context, decision)
    record_decision_links(context, decision)
    if decision["decision"] == promotion.PENDING_APPROVAL:
        from include.markets_ops.training import approval_request

        decision["approval_subject"] = approval_request.subject(decision)
        decision["approval_body"] = approval_request.body(decision, _version_url(decision["model_name"]))
    return decision


def needs_approval(gated: Mapping[str, Any]) -> bool:
    """Whether the gate's pass waits for a person (else the approval tasks are skipped)."""
    return bool(gated["decision"] == promotion.PENDING_APPROVAL)


def review_promotion(
    context: Mapping[str, Any], gated: Mapping[str, Any], response: Mapping[str, Any]
) -> dict[str, Any]:
    """Carry out the approver's answer (or its absence) to the promotion request, linked."""
    services = _services()
    thresholds = promotion.Thresholds(**gated["thresholds"])  # the ones the gate decided with
    decision = promotion.run_review(
        services, gated["candidate_version"], thresholds, run_info(context), review_of(response)
    )
    _announce_champion(context, decision)
    record_decision_links(context, decision)
    return decision


def rollback_champion(
    context: Mapping[str, Any], planned: Mapping[str, Any], response: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Carry out the planned rollback if approved (or an emergency), linked; fails without retries
    (GateError) when there is nothing to roll back to."""
    run = run_info(context)
    if planned["emergency_reason"]:
        review = promotion.Review(
            promotion.EMERGENCY, reviewed_by=run.triggered_by, comment=planned["emergency_reason"]
        )
    else:
        review = review_of(response or {})
    decision = promotion.run_rollback(_services(), run, review, planned_champion=planned["champion"])
    _announce_champion(context, decision)
    record_decision_links(context, decision)
    return decision


def report_ground_truth_quality(gated: dict[str, Any], training_date: str) -> dict[str, Any]:
    """Model vs Bayes-optimal ROC AUC on the evaluation window, where ground truth exists."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from include.markets_ops.training import model_quality

    try:
        upstream_url = connections.postgres_url(postgres.UPSTREAM_CONN_ID)
    except AirflowNotFoundException:
        return {
            "available": False,
            "reason": f"no {postgres.UPSTREAM_CONN_ID} connection: no ground truth here",
        }
    mlflow_client = connections.mlflow_client()
    version = gated["candidate_version"]
    evaluation = promotion.evaluation_of(mlflow_client, model_registry.MODEL_NAME, version)
    report = model_quality.report_for_version(
        mlflow_client,
        connections.s3_client(),
        bucket=connections.s3_bucket(),
        upstream_database_url=upstream_url,
        model_name=model_registry.MODEL_NAME,
        version=version,
        evaluation=evaluation,
        predictions_key=contract.predictions_key(dt.date.fromisoformat(training_date), version),
    )
    return {"available": report.pop("available", True), **report}


# --------------------------------------------------------------------------- the tasks' parts


def thresholds_from_variables() -> promotion.Thresholds:
    """The gate's thresholds, from their Airflow Variables (promotion.THRESHOLD_VARIABLES)."""
    from airflow.sdk import Variable

    values = {name: Variable.get(variable) for name, variable in promotion.THRESHOLD_VARIABLES.items()}
    shadow = {
        name: Variable.get(variable, default=default)
        for name, (variable, default) in promotion.SHADOW_THRESHOLD_VARIABLES.items()
    }
    return promotion.Thresholds(
        min_roc_auc=float(values["min_roc_auc"]),
        max_auc_regression=float(values["max_auc_regression"]),
        max_calibration_error=float(values["max_calibration_error"]),
        min_positives=int(values["min_positives"]),
        shadow_min_days=int(shadow["shadow_min_days"]),
        shadow_min_fails=int(shadow["shadow_min_fails"]),
        shadow_max_auc_gap=float(shadow["shadow_max_auc_gap"]),
    )


def _services() -> promotion.Services:
    """Where the gate, the review and the rollback read and write, from the Airflow connections."""
    return promotion.Services(
        connections.mlflow_client(), connections.postgres_url(), connections.kafka_config()
    )


def _version_url(model_name: str) -> Callable[[str], str]:
    """A version's MLflow page, for the approval requests (the MLflow URL read once)."""
    mlflow_ui = links.mlflow_ui_url()
    return lambda version: links.mlflow_model_version_url(mlflow_ui, model_name, version)


def approval_required() -> bool:
    """Variable ``model_promotion_requires_approval``: true unless set to false (off only on purpose)."""
    from airflow.sdk import Variable

    value = str(Variable.get(promotion.APPROVAL_REQUIRED_VARIABLE, default="true")).strip().lower()
    return value not in ("false", "0", "no", "off")


def review_of(response: Mapping[str, Any]) -> promotion.Review:
    """The review in the approval task's result (HITLOperator: chosen options, form, who, when).

    The scheduler resolves an unanswered request with its default (Reject) and no user: timed out.
    """
    from include.markets_ops.airflow.approval import APPROVE, COMMENT

    responded_at = response.get("responded_at")
    reviewed_at = responded_at.isoformat() if isinstance(responded_at, dt.datetime) else responded_at
    user = response.get("responded_by_user")
    if not user:
        return promotion.Review(promotion.TIMED_OUT, reviewed_at=reviewed_at)
    chosen = list(response.get("chosen_options") or [])
    return promotion.Review(
        promotion.APPROVED if chosen == [APPROVE] else promotion.REVIEW_REJECTED,
        reviewed_by=str(user.get("name") or user.get("id")),
        reviewed_at=reviewed_at,
        comment=str((response.get("params_input") or {}).get(COMMENT) or "").strip(),
    )


def run_info(context: Mapping[str, Any]) -> promotion.RunInfo:
    dag_run = context["dag_run"]
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    return promotion.RunInfo(
        dag_id=dag_run.dag_id,
        dag_run_id=dag_run.run_id,
        triggered_by=getattr(dag_run, "triggering_user_name", None) or run_type,
        is_backfill=run_type == plan.BACKFILL_RUN_TYPE,
    )


def training_run_target(ti: Any) -> dict[str, str] | None:
    """train_model's link target: the MLflow run that registered this DAG run's version (the
    training date from plan_training's XCom)."""
    training_date = ti.xcom_pull(task_ids="plan_training", key="training_date")
    if not training_date:
        return None
    return plan.training_run_of(
        connections.s3_client(),
        connections.s3_bucket(),
        connections.mlflow_client(),
        model_registry.MODEL_NAME,
        dt.date.fromisoformat(training_date),
    )


def record_decision_links(context: Mapping[str, Any], decision: dict[str, Any]) -> None:
    """The gate's (or rollback's) links: the version it decided on, its mlops.model-events message."""
    version = decision.get("candidate_version") or decision.get("champion_after")
    if version:
        links.record(links.MLFLOW_MODEL_VERSION, context, model_name=decision["model_name"], version=version)
    if decision.get("event_key"):  # none while the decision waits for approval
        links.record(links.KAFKA_TOPIC, context, topic=MODEL_EVENTS.name, key=decision["event_key"])


def _announce_champion(context: Mapping[str, Any], result: dict[str, Any]) -> None:
    """An asset event on ``settlement_fail_risk@champion`` only when the champion changed."""
    if result["champion_after"] and result["champion_after"] != result["champion_before"]:
        context["outlet_events"][CHAMPION_CHANGES].add(
            CHAMPION_MODEL, extra={"decision": result["decision"], "version": result["champion_after"]}
        )
