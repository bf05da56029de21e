"""
### Trade reconciliation

**Owner:** ops-reporting (break investigation: settlement-ops)

**When it runs.** When the feed has loaded the day's trades, settlement outcomes and
consolidated statement (the outcomes decide which trades are still open), or
when the last custodian's own statement of D is in (`custodian_statements`, which reconciles
each custodian's part as it lands; a statement that comes late starts this run again), and at
the safety-net time on every business day.

**What it does.** For one business date D, matches the bank's open trades as of D with the
custodians' statement of D (`ops.custodian_confirmations`) on the trade reference, in raw SQL
(`include/sql/recon/`), and classifies every break: `missing_at_custodian`,
`missing_internal`, `quantity_mismatch`, `price_mismatch` (beyond `price_tolerance_bp`),
`settle_date_mismatch`, `counterparty_mismatch`. A break still there keeps its first-seen date
and ages in XNYS business days; a break that is gone is written as `resolved` on D. Open trades
as of D: booked on or before D, not cancelled, no `settled` outcome reported before D
(details in `include/sql/recon/insert_breaks.sql`).

**Inputs and outputs.** Reads `ops.trades`, `ops.settlement_outcomes`,
`ops.custodian_confirmations` and the previous date's breaks. Replaces D's rows of
`reporting.recon_breaks` (asset `reporting.recon_breaks`, event extra `business_date`); writes
`s3://<bucket>/reports/recon/business_date=D/` (`breaks.parquet`, `breaks.csv`, `report.html`,
then `manifest.json`); one event keyed by D on the Kafka topic `ops.recon.summary`.

**How to triage.** `reconcile` failing with "not a business day": the date is a weekend or an
XNYS holiday. A statement timeout: look at the plan of `insert_breaks.sql` (the
`make bench` plans under `var/bench/` show the expected one). Too many breaks of one type
overnight usually means a feed problem (a custodian file missing: `missing_at_custodian`
everywhere), not real breaks: check the day's feed run and `reporting.quarantine`.
`publish_report` / `publish_summary` failing: S3 or Kafka; the breaks are already in the table.

**How to rerun.** Trigger with `{"business_date": "YYYY-MM-DD"}` (a rerun replaces the date's
rows, objects and event key). To backfill several dates, run them in date order: each date ages
its breaks from the previous reconciled date. `dry_run` reconciles and builds the report in a
transaction that is rolled back, writing the report and the would-be Kafka event to
`previews/trade_reconciliation/<run>/business_date=D/` only (`publish_*` are skipped, no asset
event): compare tolerances without touching the books.

**Links and lateness.** `publish_report` links to the report's S3 prefix, `publish_summary` to
the date's `ops.recon.summary` message, `reconcile` to a dry run's preview (dashboard pages). A
run not finished `trade_reconciliation_deadline_seconds` (Variable) after it was queued publishes
a `deadline_missed` event to `ops.airflow.events`. Business date D's run not finished by D at
`nightly_pipeline_cutoff` (Variable, New York time) publishes one too (not for backfills or
reruns of past dates). See docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, Param, dag
from business_day_timetable import BusinessDayTimetable
from include.markets_ops.airflow import links, params, schedules
from include.markets_ops.airflow.assets import (
    CUSTODIAN_CONFIRMATIONS,
    RECON_BREAKS,
    SETTLEMENT_OUTCOMES,
    STATEMENT_DELIVERIES,
    TRADES,
)
from include.markets_ops.airflow.defaults import Owner, Tag, default_args, nightly_cutoff, nightly_deadline
from include.markets_ops.airflow.links import linked_task
from include.markets_ops.airflow.switch import nightly_switch


@dag(
    # As soon as the day's trades, outcomes and consolidated statement have landed (the feed), or
    # every custodian's own statement has (custodian_statements); the timetable is a safety net.
    # The outcomes too: a trade whose settlement is reported on D is off D's statement, so run
    # before they are loaded, every trade settling on D is a missing_at_custodian break (the
    # feed's loads finish in any order: seen at 1M trades a day, python -m benchmarks night).
    schedule=AssetOrTimeSchedule(
        timetable=BusinessDayTimetable(run_time=schedules.SCORING_AND_RECON_SAFETY_NET),
        assets=((TRADES & SETTLEMENT_OUTCOMES & CUSTODIAN_CONFIRMATIONS) | STATEMENT_DELIVERIES),
    ),
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.NIGHTLY, Tag.RECONCILIATION, Tag.REPORTING],
    deadline=[nightly_deadline("trade_reconciliation"), nightly_cutoff()],
    default_args=default_args(Owner.OPS_REPORTING),
    max_active_runs=1,
    params=params.common_params(
        price_tolerance_bp=Param(
            1.0,
            type="number",
            minimum=0,
            title="Price tolerance (bp)",
            description="Price differences up to this many basis points of the bank's price are not breaks.",
        ),
        quantity_tolerance=Param(
            0,
            type="number",
            minimum=0,
            title="Quantity tolerance",
            description="Quantity differences up to this many units are not breaks (0: exact).",
        ),
    ),
)
def trade_reconciliation() -> None:
    @linked_task(links=[links.S3_OUTPUT], outlets=[RECON_BREAKS])
    def reconcile(**context) -> dict:
        from include.markets_ops.reconciliation import tasks

        return tasks.reconcile(context)

    @linked_task(links=[links.S3_OUTPUT])
    def publish_report(summary: dict, **context) -> list[str]:
        from include.markets_ops.reconciliation import tasks

        return tasks.publish_report(context, summary)

    @linked_task(links=[links.KAFKA_TOPIC])
    def publish_summary(summary: dict, keys: list[str], **context) -> int:
        from include.markets_ops.reconciliation import tasks

        return tasks.publish_summary(context, summary, keys)

    summary = reconcile()
    nightly_switch() >> summary
    publish_summary(summary, publish_report(summary))


trade_reconciliation()
