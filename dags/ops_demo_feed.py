"""
### Upstream feed: trades, custodian statement and settlement outcomes of one business date

**Owner:** data-platform

**What it does.** Stands in for the bank's booking, custody and settlement systems. For the
business date it (1) simulates the upstream systems: they write the day's files to S3
(`landing/<source>/business_date=YYYY-MM-DD/<source>.csv.gz`, a `_manifest.json` last) and
record the ground truth in the `synthetic` schema; (2) loads each file like a real feed:
streamed from S3 with COPY into a staging work table, checked by named SQL rules
(`include/sql/feed/<source>/check.sql`), bad rows to `reporting.quarantine` with their rule,
good rows merged into `ops.*` in one transaction per file. Reruns give the same rows.

**Inputs and outputs.** Connections `upstream_simulator` (synthetic truth),
`warehouse_postgres` (ops, reporting), `s3_markets` and the `s3_bucket` variable. Writes
`ops.currencies`, `ops.counterparties`, `ops.instruments`, `ops.settlement_instructions`,
`ops.trades`, `ops.custodian_confirmations`, `ops.settlement_outcomes`, `reporting.quarantine`.
Emits the assets `ops.trades`, `ops.custodian_confirmations` and `ops.settlement_outcomes`
with `{"business_date": "YYYY-MM-DD"}` in the event's extra. The last task's return value
holds the counts (received, loaded, quarantined per rule) of every file.

**How to triage.**
- A load task failed at once (no retry) with *"broke validation rules, above the maximum"*:
  the file is mostly bad. The message names each rule, its count and an example row; all the
  rejected rows are in `reporting.quarantine` (business_date, source). Nothing of that file
  was loaded. Fix upstream, then rerun.
- *"is not delivered"*: the file's manifest is missing in S3; the task retries with backoff.
- *"does not match its manifest"*: the object was altered or truncated; have it redelivered.
- *"holds no synthetic world"*: seed one (`make demo`, or
  `python -m include.markets_ops.synthetic seed ...`).
- A few quarantined rows only warn (see the load task's log): the run still succeeds.

**How to rerun.** Trigger with the `business_date` param (YYYY-MM-DD, a NYSE business day),
or clear the run: every step replaces the date's rows (files, truth, quarantine, ops.* rows),
so a rerun or a backfill never duplicates anything. The history before the demo date is
seeded by `python -m include.markets_ops.synthetic seed` (what `make demo` runs).
`dry_run` delivers the day's files to `previews/ops_demo_feed/<run>/landing/...` (no ground
truth written), runs every load in a transaction that is rolled back and writes each load report
to `previews/ops_demo_feed/<run>/load_reports/<source>.json`; no asset event, so nothing
downstream starts. `simulate_upstream_systems` links to that preview.

**Lateness.** A run not finished `ops_demo_feed_deadline_seconds` (Variable) after it was
queued publishes a `deadline_missed` event to `ops.airflow.events`. See docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from business_day_timetable import BusinessDayTimetable
from include.markets_ops.airflow import assets, links, params, schedules
from include.markets_ops.airflow.defaults import Owner, Tag, default_args, nightly_deadline
from include.markets_ops.airflow.links import linked_task
from include.markets_ops.airflow.switch import nightly_switch
from include.markets_ops.feed.loader import DEFAULT_MAX_BAD_SHARE
from include.markets_ops.synthetic.config import DEFAULT_BAD_ROW_RATE

PARAMS = params.common_params(  # business_date: must be a NYSE business day
    bad_row_rate=Param(
        DEFAULT_BAD_ROW_RATE,
        type="number",
        minimum=0,
        maximum=0.5,
        title="Malformed row rate",
        description="Share of malformed rows the simulated upstream systems put in each daily file.",
    ),
    max_bad_row_share=Param(
        DEFAULT_MAX_BAD_SHARE,
        type="number",
        minimum=0,
        maximum=1,
        title="Maximum bad-row share",
        description="Above this share of rows breaking the rules, a file is not loaded and its task "
        "fails without retry; below it, good rows load and bad ones are quarantined.",
    ),
)


@dag(
    schedule=BusinessDayTimetable(),  # after the close of every business day
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.UPSTREAM_FEED, Tag.NIGHTLY],
    deadline=nightly_deadline("ops_demo_feed"),
    default_args=default_args(Owner.DATA_PLATFORM),
    params=PARAMS,
    max_active_runs=1,
)
def ops_demo_feed() -> None:
    @linked_task(links=[links.S3_OUTPUT])
    def simulate_upstream_systems(**context) -> dict:
        from include.markets_ops.synthetic import tasks

        return tasks.simulate_upstream_systems(context)

    @task
    def load_reference_data(**context) -> list[dict]:
        from include.markets_ops.feed import tasks

        return tasks.load_reference_data(context)

    @task(outlets=[assets.TRADES])
    def load_trades(**context) -> dict:
        from include.markets_ops.feed import tasks

        return tasks.load_trades(context)

    @task(outlets=[assets.CUSTODIAN_CONFIRMATIONS])
    def load_custodian_confirmations(**context) -> dict:
        from include.markets_ops.feed import tasks

        return tasks.load_custodian_confirmations(context)

    @task(outlets=[assets.SETTLEMENT_OUTCOMES])
    def load_settlement_outcomes(**context) -> dict:
        from include.markets_ops.feed import tasks

        return tasks.load_settlement_outcomes(context)

    @task
    def report_counts(reference: list[dict], trades: dict, confirmations: dict, outcomes: dict) -> dict:
        from include.markets_ops.feed import tasks

        return tasks.report_counts(reference, trades, confirmations, outcomes)

    delivered = simulate_upstream_systems()
    reference = load_reference_data()
    trades = load_trades()
    confirmations = load_custodian_confirmations()
    outcomes = load_settlement_outcomes()
    nightly_switch() >> delivered
    delivered >> reference >> trades >> [confirmations, outcomes]
    report_counts(reference, trades, confirmations, outcomes)


ops_demo_feed()
