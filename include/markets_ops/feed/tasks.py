"""The ``ops_demo_feed`` DAG's load tasks, named as them: the only module of the feed that sees
the Airflow context (the upstream systems' simulation, the DAG's first task, is the synthetic
world's: synthetic/tasks.py). The loader itself is loader.py, the file layout landing.py.

Failure policy:
  - an upstream file not delivered yet (no manifest): an ordinary error, retried per the
    DAG's retries (upstream may be late);
  - bad input (too many rows breaking the rules, a file that does not match its manifest, a
    date that is not a business date, no synthetic world): an ``errors.BadInputError``, which
    the DAGs' retry policy (airflow/retries.py) fails at once without retries, with the rule,
    the count and an example in the message;
  - a few bad rows: loaded without them, each quarantined with its rule, and a warning.

Dry run (param ``dry_run``): the upstream files are delivered to the run's preview prefix
(``previews/ops_demo_feed/<run>/landing/...``) without writing the ground truth; each load runs in
full (COPY, checks, quarantine, merge) in a transaction that is rolled back, its report written to
``previews/ops_demo_feed/<run>/load_reports/<source>.json``; no asset event is emitted. Each file
is checked against the warehouse as it is: the dry run's own earlier loads are rolled back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.airflow import business_date as business_dates
from include.markets_ops.airflow import connections
from include.markets_ops.airflow.assets import CUSTODIAN_CONFIRMATIONS, SETTLEMENT_OUTCOMES, TRADES
from include.markets_ops.calendars import OPERATIONS_CALENDAR
from include.markets_ops.feed import landing, loader, sources
from include.markets_ops.services import postgres

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the DAG's tasks


def load_reference_data(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The reference files (currencies, counterparties, instruments, instructions), in order."""
    return load_sources(context, tuple(source.name for source in sources.REFERENCE_SOURCES))


def load_trades(context: Mapping[str, Any]) -> dict[str, Any]:
    return load_daily_source(context, sources.TRADES.name, TRADES)


def load_custodian_confirmations(context: Mapping[str, Any]) -> dict[str, Any]:
    return load_daily_source(context, sources.CUSTODIAN_CONFIRMATIONS.name, CUSTODIAN_CONFIRMATIONS)


def load_settlement_outcomes(context: Mapping[str, Any]) -> dict[str, Any]:
    return load_daily_source(context, sources.SETTLEMENT_OUTCOMES.name, SETTLEMENT_OUTCOMES)


def report_counts(
    reference: list[dict[str, Any]],
    trades: dict[str, Any],
    confirmations: dict[str, Any],
    outcomes: dict[str, Any],
) -> dict[str, Any]:
    """The counts of every file of the run (received, loaded, quarantined per rule)."""
    return summarize([*reference, trades, confirmations, outcomes])


# --------------------------------------------------------------------------- their parts


def feed_business_date(context: Mapping[str, Any]) -> dt.date:
    """The run's business date, which must be a business day of the operations calendar."""
    day = business_dates.resolve_business_date(context)  # BusinessDateError: bad input
    if not calendars.is_business_day(day, OPERATIONS_CALENDAR):
        raise calendars.NotABusinessDateError(
            f"{day} is not a {OPERATIONS_CALENDAR} business day: there is no feed for it"
        )
    return day


def connect(conn_id: str) -> Any:
    """A connection of the feed's tasks (its sessions are named after the DAG)."""
    return connections.connect_postgres(conn_id, application_name="ops_demo_feed")


def landing_store(context: Mapping[str, Any]) -> landing.S3Store | landing.PrefixedStore:
    """The bucket; in a dry run, the run's preview prefix of it."""
    from include.markets_ops.airflow import dry_run

    bucket = landing.S3Store(connections.s3_client(), connections.s3_bucket())
    if dry_run.is_dry_run(context):
        return landing.PrefixedStore(bucket, dry_run.context_preview_prefix(context))
    return bucket


def load_sources(context: Mapping[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Load each named source's file of the business date, in order, one transaction each."""
    from contextlib import nullcontext

    from include.markets_ops.airflow import dry_run

    day = feed_business_date(context)
    max_bad_share = float(context["params"]["max_bad_row_share"])
    store = landing_store(context)
    previewing = dry_run.is_dry_run(context)
    reports = []
    with connect(postgres.WAREHOUSE_CONN_ID) as connection:
        for name in names:
            source = sources.source(name)
            manifest = landing.read_manifest(store, name, day)  # FileNotDeliveredError: retried
            # TooManyBadRowsError, MalformedFileError, CorruptFileError: bad input, not retried.
            with dry_run.rolled_back(connection) if previewing else nullcontext():
                report = loader.load_file(
                    connection,
                    source,
                    day,
                    partial(landing.stream, store, manifest),
                    dag_run_id=str(context.get("run_id")),
                    max_bad_share=max_bad_share,
                )
            if report.received != manifest.rows:
                raise landing.CorruptFileError(
                    f"{manifest.object_key}: the manifest announces {manifest.rows} rows, "
                    f"the file held {report.received}"
                )
            reports.append(report.as_dict())
            if previewing:
                store.put_bytes(
                    f"load_reports/{name}.json", json.dumps(report.as_dict(), default=str).encode()
                )
    for report_dict in reports:
        log.info("%s", _one_line(report_dict))
    return reports


def load_daily_source(context: Mapping[str, Any], name: str, asset: Any) -> dict[str, Any]:
    """Load one daily source and stamp its asset event with the business date (none in a dry run)."""
    from include.markets_ops.airflow import dry_run

    (report,) = load_sources(context, (name,))
    if dry_run.is_dry_run(context):
        dry_run.suppress_asset_events(context)
        return report
    context["outlet_events"][asset].extra = {business_dates.BUSINESS_DATE_KEY: report["business_date"]}
    return report


def summarize(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per source (received, loaded, quarantined by rule) for the log and the XCom."""
    summary = {
        "business_date": reports[0]["business_date"] if reports else None,
        "sources": {r["source"]: r for r in reports},
        "loaded": sum(r["loaded"] for r in reports),
        "quarantined": sum(r["quarantined"] for r in reports),
    }
    for report in reports:
        log.info("%s", _one_line(report))
    log.info("total: %s rows loaded, %s quarantined", f"{summary['loaded']:,}", f"{summary['quarantined']:,}")
    return summary


def _one_line(report: Mapping[str, Any]) -> str:
    rules = ", ".join(f"{rule}={count}" for rule, count in report["quarantined_by_rule"].items()) or "none"
    return (
        f"{report['source']:<24} received {report['received']:>9,}  loaded {report['loaded']:>9,}  "
        f"quarantined {report['quarantined']:>6,} ({rules})"
    )
