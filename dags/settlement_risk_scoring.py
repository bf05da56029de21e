"""
### Settlement risk scoring

**Owner:** mlops

**What it does.** Scores every trade pending at the end of the business date (booked, not yet
at its settle date, not cancelled) with the champion settlement-fail model, in parallel shards:
one model job per shard (a pod with `JOB_RUNTIME=kubernetes`, a local process otherwise).
All shards use the same model version, pinned by `check_champion`. `plan_shards` prepares the
date's empty next partition `ml.trade_scores_pYYYYMMDD_next`; each shard writes its rows straight
into it (replacing its own slice, one transaction), a Parquet part in S3 and a Kafka message per
high-risk trade; then `swap_scores` attaches the next partition in place of the date's rows of
`ml.trade_scores` in one transaction and `write_manifest` replaces the S3 manifest last, and emits
the `ml.trade_scores` asset with the business date. A date that is not an NYSE business day is
refused by `check_champion`, before anything is written.

**Shadow scoring.** When the registry has a `challenger` (a candidate the gate has not promoted),
`check_champion` pins it too and every shard scores each trade with it as well, from the same
features, into the date's next partition of `ml.shadow_scores` (never the Parquet parts, the
manifest or Kafka), swapped in by `swap_scores` in the same transaction as the champion's rows.
`compare_shadow` then compares both models on the trades whose outcome is now known, for every
date scored in shadow in the last `model_shadow_lookback_days` (Variable, calendar days, default
30), into `ml.shadow_comparisons`, which the promotion gate reads (docs/model-governance.md).

**Inputs and outputs.** Reads `ops.*` (point-in-time features) and the MLflow registry
(`settlement_fail_risk@champion`). Writes `ml.trade_scores` (the date's rows, replaced),
`s3://<bucket>/scores/business_date=YYYY-MM-DD/`: one part per shard in the run's own folder
`run=<attempt>/`, then `_manifest.json`, which names the folder, replaced last (the previous
manifest and its parts stay readable until then; the date's other folders are removed after) and
Kafka `settlement-risk.high` (key = trade id). Variables: `settlement_risk_scoring_shards` (1 on
the local 2-core stack, where one shard keeps both cores busy; more where pods get cores of their own),
`settlement_risk_high_threshold`, `settlement_risk_medium_threshold`. Job contract:
`docs/pod-contract.md`.

**How to triage.**
- `check_champion` failed: no champion yet (run `settlement_risk_training`) or the requested
  version does not exist, or "not scored: rule business-date-is-a-business-day": the date is a
  weekend or an NYSE holiday (nothing to score; not retried). The log says which.
- A `score_shard` instance failed: its log is the job's output. "refused: ... input schema"
  means the champion was trained on other features than the job computes (retrain); a Kafka
  delivery error or a database error is transient (the task retries). With Kubernetes, a
  failed pod is kept for its events (`kubectl -n <namespace> get pods -l dag=settlement_risk_scoring`).
- `score_shard` exited 3 with "..._next does not exist": the date's next partition is gone (the
  swap already consumed it, or another run's swap did): clear the whole run, not one shard.
- `swap_scores` failed: nothing was changed in `ml.trade_scores`. "is missing": the next
  partition was not prepared or was already attached (clear the whole run). "rows written by
  scoring runs [...]" or "model versions": it holds another run's rows (a later run prepared it
  again, or a shard of an older run wrote into it): clear the whole run. "no scores at all": no
  shard wrote although trades are pending.
- `swap_scores` "ml.shadow_scores: N shadow scores for M champion scores": a shard did not
  score the challenger; nothing was changed: clear the whole run.
- `check_champion` warns "not scoring challenger version N in shadow tonight": the scoring job
  would refuse it (gone, or its inputs differ from the features); the champion is scored alone.
  Retrain, or gate another challenger.
- `score_shard` "the challenger (version N) cannot be scored in shadow" (it failed to load):
  nothing was written; rerun with the `shadow` param off to score the champion alone.
- `compare_shadow` failed: the scores are in place; only the comparison is behind (the next
  night recomputes it): clear the task.
- `write_manifest` failed: the rows are in place; S3 readers still see the previous manifest and
  its parts (the run's own parts wait beside them); clear the task. Any failed run leaves the
  date's manifest and parts as they were; its parts are removed by the next successful run.

**How to rerun.** Trigger with the `business_date` param (or clear the run). A rerun replaces
the date's rows, writes the same objects with the same content and republishes the same
message keys (the manifest differs only in `scoring_run_id`, `attempt` and `parts_prefix`; the
parts have the same bytes under the new attempt's folder). `model_version` scores with a given
version instead of the champion; `shards` overrides the configured shard count; `dry_run`
scores into the staging work tables only (no next partition, no swap, no S3, no Kafka).
Clearing one `score_shard` before the swap replaces that shard's rows (and its part); after the
swap, clear the whole run.

**Links and lateness.** `check_champion` links to the MLflow model version scored with;
`write_manifest` to `scores/business_date=D/` and the date's `settlement-risk.high` messages. A run
not finished `settlement_risk_scoring_deadline_seconds` (Variable) after it was queued publishes a
`deadline_missed` event to `ops.airflow.events`. Business date D's run not finished by D at
`nightly_pipeline_cutoff` (Variable, New York time) publishes one too (not for backfills or
reruns of past dates). See docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, Param, dag, task
from business_day_timetable import BusinessDayTimetable
from include.markets_ops.airflow import assets, links, params, schedules
from include.markets_ops.airflow.defaults import Owner, Tag, default_args, nightly_cutoff, nightly_deadline
from include.markets_ops.airflow.links import linked_task
from include.markets_ops.airflow.switch import nightly_switch
from include.markets_ops.jobs.factory import mapped_model_job


@dag(
    # As soon as the day's trades and settlement outcomes have landed; the timetable is a
    # safety net later in the evening (a rerun replaces the same rows).
    schedule=AssetOrTimeSchedule(
        timetable=BusinessDayTimetable(run_time=schedules.SCORING_AND_RECON_SAFETY_NET),
        assets=(assets.TRADES & assets.SETTLEMENT_OUTCOMES),
    ),
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.ML, Tag.NIGHTLY],
    deadline=[nightly_deadline("settlement_risk_scoring"), nightly_cutoff()],
    default_args=default_args(Owner.MLOPS),
    max_active_runs=1,  # one writer per business date: the runs of a date share its next partition
    params=params.common_params(
        shards=params.shards_param(None),
        model_version=params.model_version_param(
            "Score with this registered version of settlement_fail_risk instead of the champion."
        ),
        shadow=Param(
            True,
            type="boolean",
            title="Score the challenger in shadow",
            description="Also score the registry's challenger into ml.shadow_scores. Off: the champion "
            "alone (e.g. a rerun after the challenger could not be scored).",
        ),
    ),
)
def settlement_risk_scoring() -> None:
    @linked_task(links=[links.MLFLOW_MODEL_VERSION])
    def check_champion(**context) -> dict:
        from include.markets_ops.scoring import tasks

        return tasks.check_champion(context)

    @task
    def plan_shards(champion: dict, **context) -> list:
        """Returns one argument list per shard (mapped over); the plan goes to XCom key "plan"."""
        from include.markets_ops.scoring import tasks

        return tasks.plan_shards(context, champion)

    @task
    def swap_scores(plan: dict) -> dict:
        from include.markets_ops.scoring import tasks

        return tasks.swap_scores(plan)

    @task
    def compare_shadow(plan: dict) -> dict:
        from include.markets_ops.scoring import tasks

        return tasks.compare_shadow(plan)

    @linked_task(links=[links.S3_OUTPUT, links.KAFKA_TOPIC], outlets=[assets.TRADE_SCORES])
    def write_manifest(plan: dict, swapped: dict, **context) -> dict:
        from include.markets_ops.scoring import tasks

        return tasks.write_manifest(context, plan, swapped)

    champion = check_champion()
    nightly_switch() >> champion
    planned = plan_shards(champion)
    score_shard = mapped_model_job("score_shard", "score", arguments=planned)
    swapped = swap_scores(planned["plan"])
    score_shard >> swapped
    write_manifest(planned["plan"], swapped)
    swapped >> compare_shadow(planned["plan"])


settlement_risk_scoring()
