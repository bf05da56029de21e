"""
### Custodian statements: each one loaded and reconciled as soon as its custodian announces it

**Owner:** ops-reporting (break investigation: settlement-ops)

**What it does.** The custodians send their statements of a business date one by one, hours
apart. Each announces its file with a "statement ready" message on the Kafka topic
`ops.custodian.statements` (key `<CUSTODIAN>/<YYYY-MM-DD>`; value: the file's `object_key`,
`rows` and `sha256`; docs/events.md). The triggerer watches the topic (asset
`ops.custodian.statements`): every message starts this DAG (messages that arrive while a run
is queued fold into one run). `receive` quarantines malformed messages; `load_statement`, one
mapped task per custodian and date, checks the file against the message, replaces that
custodian's rows of the date in `ops.custodian_confirmations` (the feed's rules: bad rows to
`reporting.quarantine`) and records the delivery (`ops.statement_deliveries`), then reconciles
that custodian's part of the date into `reporting.recon_breaks` (the trades in its settlement
locations). `announce_complete_dates` emits `ops.statement_deliveries` once every custodian of
the date is in, which starts `trade_reconciliation` for the whole date (report, summary event).

**Duplicates, late and out-of-order messages.** A message announcing a file already loaded
(same sha256) loads nothing (`duplicate`). An older announcement than the one loaded, or one
whose file was replaced since, loads nothing (`superseded`). A statement that comes after the
date's full reconciliation reloads that custodian and starts the full reconciliation again.
Each custodian and date is independent, so dates and custodians may come in any order.

**How to triage.** `receive` warns "quarantined": the message broke a rule (rule and whole
message in `reporting.quarantine`, source `statement_messages`); the watcher goes on. A
`load_statement` failing "is not delivered": the file's manifest is missing (retried with
backoff). "broke validation rules, above the maximum": the file is mostly bad, nothing loaded
(rows in `reporting.quarantine`, source `statement/<CUSTODIAN>`). No runs at all: check the
triggerer (Admin > Triggers: `custodian_statements_watcher`) and the consumer group
`markets-ops-watchers.custodian-statements`.

**How to rerun.** Clearing a run reprocesses its messages (a statement loaded already is a
duplicate). To reload a statement, have it announced again with a new file. The nightly feed's
consolidated statement and the `trade_reconciliation` safety-net time cover a date whose
announcements never came.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from include.markets_ops.airflow.assets import STATEMENT_DELIVERIES
from include.markets_ops.airflow.defaults import Owner, Tag, default_args
from include.markets_ops.airflow.watchers import CUSTODIAN_STATEMENT_READY


@dag(
    schedule=[CUSTODIAN_STATEMENT_READY],
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.RECONCILIATION, Tag.EVENT_DRIVEN],
    default_args=default_args(Owner.OPS_REPORTING),
    max_active_runs=1,
)
def custodian_statements() -> None:
    # Its inlet: it also reads the asset's latest events, for any message no run has handled.
    @task(inlets=[CUSTODIAN_STATEMENT_READY])
    def receive(**context) -> list[dict]:
        from include.markets_ops.statements import tasks

        return tasks.receive(context)

    @task(map_index_template="{{ statement_key }}")
    def load_statement(announcement: dict, **context) -> dict:
        from include.markets_ops.statements import tasks

        return tasks.load_statement(context, announcement)

    @task(outlets=[STATEMENT_DELIVERIES])
    def announce_complete_dates(outcomes: list[dict], **context) -> dict:
        from include.markets_ops.statements import tasks

        return tasks.announce_complete_dates(context, list(outcomes))

    announce_complete_dates(load_statement.expand(announcement=receive()))


custodian_statements()
