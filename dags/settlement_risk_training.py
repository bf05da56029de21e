"""
### Settlement risk training

**Owner:** mlops

**What it does.** Retrains the settlement-fail risk model and promotes it only when it is proven
better. Three model jobs (pods with `JOB_RUNTIME=kubernetes`, local processes otherwise):
`build_training_set` (point-in-time snapshot of labelled trades, split in time: train on older
as-of dates, evaluate on later ones), `train_model` (registers a new version of
`settlement_fail_risk` in MLflow with its metrics, plots, signature and dataset) and
`evaluate_challenger` (challenger and champion on the same held-out window). Then
`promotion_gate` applies the gate (minimum ROC AUC, maximum regression against the champion,
maximum calibration error, minimum positives, and, to replace a champion, a shadow record beside
it; Variables `model_gate_*`): pass moves the `champion` alias (the old one keeps
`previous_champion`), fail sets `challenger`, which the nightly scoring then scores in shadow;
every decision is audited in `ml.model_promotions`, tagged on the version and published to Kafka
`mlops.model-events`.
With approval required (Variable `model_promotion_requires_approval`, on by default), a pass moves
nothing yet: `approve_promotion` asks an approver in the UI (Browse > Required Actions, or the
task's Required Actions tab): candidate and champion side by side, Approve / Reject with a comment;
`review_promotion` carries out the answer. Reject, or no answer within
`model_promotion_approval_hours` (default 48), leaves the champion as it is. Only the users named in
`model_promotion_approvers` may answer, and never the person who triggered the run (four eyes).
See docs/model-governance.md.
`report_ground_truth_quality` compares the challenger's ROC AUC with the Bayes-optimal one from the
synthetic ground truth and logs both in MLflow. It is the one task that reads the `synthetic`
schema (connection `upstream_simulator`; docs/architecture.md, Warehouse roles): it runs after
the gate and no task depends on it, so the truth never feeds training, evaluation or promotion.
Without that connection (production) it reports that there is no ground truth and succeeds.

**Inputs and outputs.** Reads `ops.trades`, `ops.settlement_outcomes`, reference tables (read-only
role). Writes `s3://<bucket>/training-sets/training_date=YYYY-MM-DD/`, MLflow runs, versions,
aliases and tags, `ml.model_promotions`, Kafka `mlops.model-events`; emits the
`settlement_fail_risk@champion` asset when the champion changes.

**How to triage.**
- `build_training_set` "refused": a window has no trades or no fails; load more history or pick a
  later `business_date`.
- `train_model` / `evaluate_challenger`: the task log is the job's output; MLflow has the run.
- `promotion_gate`: a rejection is not a failure (the task succeeds; reasons are in the audit row,
  the version's `gate.reasons` tag and the Kafka event, flagged `alert: true`).
- `approve_promotion` waiting: an approver answers it (it is the run's only unfinished task;
  the next training run waits behind it, `max_active_runs=1`). `review_promotion` says what the
  answer decided; a rejection because of the four-eyes rule or a champion that changed meanwhile is
  in its reasons.
- `plan_rollback` fails when there is no `previous_champion` to return to.

**How to rerun.** Trigger with `business_date` = the training date. A rerun rebuilds the same
snapshot and registers a new version from it; a retried gate task finishes the decision it took
(never decides twice). To ask again after a reject or a timeout, clear `approve_promotion` (with
its downstream): the same candidate gets a new request, and each answer gets its own audit row.
A scheduled run gates the standing challenger instead of training when its shadow record has the
days and fails the gate asks for. Manual params: `gate_challenger` trains nothing: the standing
`challenger` (a candidate the gate held, scored in shadow every night since) is evaluated on a
fresh window and gated again, now with its shadow record (docs/model-governance.md);
`evaluate_against_version` compares with a chosen version (evaluation only: no alias moves unless
it is the champion); `rollback_to_previous_champion` points `champion` back at
`previous_champion` once an approver approves `approve_rollback` (nothing is trained; a decline is
recorded as `rollback_refused`), or at once with `emergency_rollback_reason` (recorded as an
emergency with that reason); `ignore_features` trains without some features (an ablation; the
model still takes every input). Backfill runs never promote.

**Links.** `train_model` links to the MLflow run that registered the version; `promotion_gate` and
`rollback_champion` to the version decided on and its `mlops.model-events` message. See
docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, task
from business_day_timetable import WeeklyBusinessDayTimetable
from include.markets_ops.airflow import assets, links, params, schedules
from include.markets_ops.airflow.approval import PromotionApprovalOperator
from include.markets_ops.airflow.defaults import Owner, Tag, default_args
from include.markets_ops.airflow.links import linked_task
from include.markets_ops.airflow.switch import nightly_switch
from include.markets_ops.jobs.factory import model_job
from include.markets_ops.training import plan
from settlement_model import contract


@dag(
    schedule=WeeklyBusinessDayTimetable(run_time=schedules.WEEKLY_TRAINING),
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.ML],
    default_args=default_args(Owner.MLOPS),
    max_active_runs=1,  # one gate decision at a time
    params={
        params.BUSINESS_DATE: params.business_date_param(),
        plan.AGAINST_VERSION_PARAM: params.model_version_param(
            "Compare the challenger with this version instead of the champion (evaluation only)."
        ),
        plan.GATE_CHALLENGER_PARAM: Param(
            False,
            type="boolean",
            title="Gate the standing challenger",
            description="Train nothing: evaluate the challenger (scored in shadow since the gate held it) "
            "on a fresh window and gate it again, with its shadow record.",
        ),
        plan.ROLLBACK_PARAM: Param(
            False,
            type="boolean",
            title="Roll back the champion",
            description="Point the champion alias back at previous_champion instead of training (audited).",
        ),
        plan.EMERGENCY_REASON_PARAM: Param(
            "",
            type="string",
            title="Emergency rollback: the reason",
            description="With the rollback only: roll back at once, without an approver, recording this "
            "reason. Empty: an approver must approve the rollback.",
        ),
        plan.IGNORE_FEATURES_PARAM: Param(
            [],
            type="array",
            items={"type": "string"},
            title="Features to leave out",
            description="Train without these features (an ablation experiment). Empty: all features.",
        ),
        plan.TRAIN_DAYS_PARAM: Param(
            contract.DEFAULT_TRAIN_DAYS,
            type="integer",
            minimum=5,
            maximum=730,
            title="Training window (days)",
            description="Calendar days of trade dates to train on; they end before the evaluation window, "
            "a label lag earlier, so no training label is known after the evaluation starts.",
        ),
        plan.HOLDOUT_DAYS_PARAM: Param(
            contract.DEFAULT_HOLDOUT_DAYS,
            type="integer",
            minimum=1,
            maximum=90,
            title="Evaluation window (days)",
            description="Calendar days of the latest trade dates whose settlement outcome is known, held out "
            "to evaluate the candidate against the champion.",
        ),
    },
)
def settlement_risk_training() -> None:
    @task(multiple_outputs=True)
    def plan_training(**context) -> dict:
        from include.markets_ops.training import tasks

        return tasks.plan_training(context)

    @task.branch
    def choose_path(mode: str) -> str:
        from include.markets_ops.training import tasks

        return tasks.choose_path(mode)

    @task.branch
    def choose_candidate(mode: str) -> str:
        from include.markets_ops.training import tasks

        return tasks.choose_candidate(mode)

    @task
    def evaluation_arguments(planned_arguments: list) -> list:
        from include.markets_ops.training import tasks

        return tasks.evaluation_arguments(planned_arguments)

    @linked_task(links=[links.MLFLOW_MODEL_VERSION, links.KAFKA_TOPIC], outlets=[assets.CHAMPION_CHANGES])
    def promotion_gate(training_date: str, challenger_version: str | None, **context) -> dict:
        from include.markets_ops.training import tasks

        return tasks.promotion_gate(context, training_date, challenger_version)

    @task.short_circuit
    def needs_approval(gated: dict) -> bool:
        from include.markets_ops.training import tasks

        return tasks.needs_approval(gated)

    @linked_task(links=[links.MLFLOW_MODEL_VERSION, links.KAFKA_TOPIC], outlets=[assets.CHAMPION_CHANGES])
    def review_promotion(gated: dict, response: dict, **context) -> dict:
        from include.markets_ops.training import tasks

        return tasks.review_promotion(context, gated, response)

    @task
    def report_ground_truth_quality(gated: dict, training_date: str) -> dict:
        from include.markets_ops.training import tasks

        return tasks.report_ground_truth_quality(gated, training_date)

    @task
    def plan_rollback(**context) -> dict:
        from include.markets_ops.training import tasks

        return tasks.plan_rollback(context)

    @task.short_circuit(ignore_downstream_trigger_rules=False)  # an emergency skips the request only
    def needs_rollback_approval(planned: dict) -> bool:
        from include.markets_ops.training import tasks

        return tasks.needs_rollback_approval(planned)

    @linked_task(
        links=[links.MLFLOW_MODEL_VERSION, links.KAFKA_TOPIC],
        outlets=[assets.CHAMPION_CHANGES],
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )
    def rollback_champion(planned: dict, response: dict | None, **context) -> dict:
        from include.markets_ops.training import tasks

        return tasks.rollback_champion(context, planned, response)

    planned = plan_training()
    nightly_switch() >> planned
    build_training_set = model_job("build_training_set", "build-training-set", planned["build_arguments"])
    train_model = model_job(
        "train_model", "train", planned["train_arguments"], extra_links=(links.TRAINING_RUN,)
    )
    evaluate_arguments = evaluation_arguments(planned["evaluate_arguments"])
    build_training_set >> evaluate_arguments
    evaluate_challenger = model_job(
        "evaluate_challenger",
        "evaluate",
        evaluate_arguments,
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,  # after training, or the snapshot alone
    )
    gated = promotion_gate(planned["training_date"], planned["challenger_version"])
    rollback_plan = plan_rollback()
    choose_path(planned["mode"]) >> [build_training_set, rollback_plan]
    approve_rollback = PromotionApprovalOperator(
        task_id="approve_rollback",
        subject="{{ ti.xcom_pull(task_ids='plan_rollback')['approval_subject'] }}",
        body="{{ ti.xcom_pull(task_ids='plan_rollback')['approval_body'] }}",
    )
    needs_rollback_approval(rollback_plan) >> approve_rollback
    rollback_champion(rollback_plan, approve_rollback.output)
    build_training_set >> choose_candidate(planned["mode"]) >> [train_model, evaluate_challenger]
    train_model >> evaluate_challenger >> gated
    approve_promotion = PromotionApprovalOperator(
        task_id="approve_promotion",
        subject="{{ ti.xcom_pull(task_ids='promotion_gate')['approval_subject'] }}",
        body="{{ ti.xcom_pull(task_ids='promotion_gate')['approval_body'] }}",
    )
    needs_approval(gated) >> approve_promotion
    review_promotion(gated, approve_promotion.output)
    report_ground_truth_quality(gated, planned["training_date"])


settlement_risk_training()
