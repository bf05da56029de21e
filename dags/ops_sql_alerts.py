"""
### Operations SQL alerts

**Owner:** ops-reporting (each rule names the team that acts on it)

**What it does.** Runs every alert rule in `include/sql/alerts/` for one business date, one
mapped task per rule file: the rule's query runs on the read-only `warehouse_reporting`
connection with a statement timeout, its parameters always bound. Each rule returns one row
per thing to act on; the rows are merged into `reporting.alerts`, unique on (rule, business
date, entity), so a rerun never duplicates and a condition still open from the rule's previous
run is not raised again (`is_new` false, `first_raised_date` kept). Rules shipped: high fail-risk
trades settling next business day with an unmatched confirmation, scoring coverage, score
drift (PSI), stale champion, aged reconciliation breaks, failed-settlement spike. Adding a rule
is adding a file (see `include/markets_ops/alerting/rules.py` for the header).

**Inputs and outputs.** Reads `ops.*`, `ml.trade_scores`, `ml.model_promotions`,
`reporting.recon_breaks`. Writes `reporting.alerts` and `reporting.alert_rule_runs` (asset
`reporting.alerts`); the new alerts to the Kafka topic `ops.alerts` (key `rule_id:entity_key`,
JSON with severity, owner and details); `s3://<bucket>/reports/alerts/business_date=D/`
(`alerts.jsonl`, then `manifest.json` with the night's summary).

**How to triage.** A failed `run_rule` task (its map index is the rule file) has the file and
the error in its log, and in `reporting.alert_rule_runs.error`; `check_rules` fails the run
listing every failed rule once the others have been published. A malformed header, an unknown
parameter or a SQL error fail at once (no retries); a timeout or a lost connection is retried.

**How to rerun.** Trigger with `{"business_date": "YYYY-MM-DD"}`; override a rule's
parameters with `{"rule_parameters": {"rule_id": {"name": value}}}`. A rerun updates the date's
alerts in place and republishes the same Kafka keys and S3 objects. `dry_run` evaluates and
merges each rule in a transaction that is rolled back and writes each rule's would-be alerts to
`previews/ops_sql_alerts/<run>/business_date=D/<rule_id>.json` only (`publish_alerts` skipped:
no Kafka, no asset event; `check_rules` checks the previews): try a rule parameter safely.

**Links and lateness.** `publish_alerts` links to `reports/alerts/business_date=D/` and the
date's `ops.alerts` messages, `check_rules` to a dry run's preview. A run not finished
`ops_sql_alerts_deadline_seconds` (Variable) after it was queued publishes a `deadline_missed`
event to `ops.airflow.events`. Business date D's run not finished by D at
`nightly_pipeline_cutoff` (Variable, New York time) publishes one too (not for backfills or
reruns of past dates). See docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, Param, TriggerRule, dag, task
from business_day_timetable import BusinessDayTimetable
from include.markets_ops.airflow import links, params, schedules
from include.markets_ops.airflow.assets import ALERTS, RECON_BREAKS, TRADE_SCORES
from include.markets_ops.airflow.defaults import Owner, Tag, default_args, nightly_cutoff, nightly_deadline
from include.markets_ops.airflow.links import linked_task
from include.markets_ops.airflow.switch import nightly_switch
from include.markets_ops.alerting.rules import RULE_PARAMETERS_PARAM


@dag(
    # When both the night's scores and reconciliation breaks are in; the timetable is a safety net.
    schedule=AssetOrTimeSchedule(
        timetable=BusinessDayTimetable(run_time=schedules.ALERTS_SAFETY_NET),
        assets=(TRADE_SCORES & RECON_BREAKS),
    ),
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.NIGHTLY, Tag.ALERTING, Tag.REPORTING],
    deadline=[nightly_deadline("ops_sql_alerts"), nightly_cutoff()],
    default_args=default_args(Owner.OPS_REPORTING),
    max_active_runs=1,
    params=params.common_params(
        {
            RULE_PARAMETERS_PARAM: Param(
                {},
                type="object",
                title="Rule parameters",
                description="Overrides of the rules' parameters, by rule: "
                '{"aged_recon_breaks": {"min_age_business_days": 3}}. '
                "An unknown rule or parameter fails the run.",
            )
        }
    ),
)
def ops_sql_alerts() -> None:
    @task
    def list_rules() -> list[str]:
        from include.markets_ops.alerting import tasks

        return tasks.list_rules()

    @task(map_index_template="{{ task.op_kwargs['rule_file'] }}")
    def run_rule(rule_file: str, **context) -> dict:
        from include.markets_ops.alerting import tasks

        return tasks.run_rule(context, rule_file)

    @linked_task(
        links=[links.S3_OUTPUT, links.KAFKA_TOPIC], trigger_rule=TriggerRule.ALL_DONE, outlets=[ALERTS]
    )
    def publish_alerts(**context) -> dict:
        from include.markets_ops.alerting import tasks

        return tasks.publish_alerts(context)

    @linked_task(links=[links.S3_OUTPUT], trigger_rule=TriggerRule.ALL_DONE)
    def check_rules(rule_files: list[str], **context) -> None:
        from include.markets_ops.alerting import tasks

        return tasks.check_rules(context, rule_files)

    rule_files = list_rules()
    nightly_switch() >> rule_files
    rule_results = run_rule.expand(rule_file=rule_files)
    published = publish_alerts()
    rule_results >> published
    published >> check_rules(rule_files)


ops_sql_alerts()
