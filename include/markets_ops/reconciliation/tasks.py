"""The ``trade_reconciliation`` DAG's tasks: the only module of the pipeline that sees the
Airflow context, the connections and the run's links.

The first three functions are the DAG's tasks, named as them (each task body is one call): they
take the run's context, resolve its business date and parameters, record the links and the asset
event, and call the functions below, which take plain values and open the connections they
use: reconcile (writer role), publish the report to S3 (read-only role), publish the summary
event to Kafka. ``preview_business_date`` is the dry run's reconcile: the same work, rolled
back, with the report and the would-be Kafka event written under the run's preview prefix only.
The reconciliation itself is breaks.py, the report report.py.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from include.markets_ops.airflow import connections, dry_run, lineage, links
from include.markets_ops.airflow.assets import RECON_BREAKS
from include.markets_ops.airflow.business_date import parse_business_date, resolve_business_date
from include.markets_ops.services import postgres
from include.markets_ops.services.topics import RECON_SUMMARY

# --------------------------------------------------------------------------- the DAG's tasks


def reconcile(context: Mapping[str, Any]) -> dict[str, Any]:
    """The ``reconcile`` task: the run's business date with its tolerances; in a dry run, its
    preview (linked, no asset event). A date that is not a business day fails without retries
    (NotABusinessDateError is bad input: airflow/retries.py)."""
    params = context["params"]
    business_date = resolve_business_date(context)
    tolerances = (params["price_tolerance_bp"], params["quantity_tolerance"])
    if dry_run.is_dry_run(context):
        prefix = dry_run.context_preview_prefix(context, business_date)
        links.record(links.S3_OUTPUT, context, bucket=connections.s3_bucket(), prefix=prefix)
        dry_run.suppress_asset_events(context)
        return preview_business_date(business_date, *tolerances, connections.s3_bucket(), prefix)
    summary = reconcile_business_date(business_date, *tolerances)
    context["outlet_events"][RECON_BREAKS].extra = {"business_date": business_date.isoformat()}
    return summary


def publish_report(context: Mapping[str, Any], summary: dict[str, Any]) -> list[str]:
    """The ``publish_report`` task (skipped in a dry run), linked to the report's prefix."""
    from include.markets_ops.reconciliation.report import prefix_for

    dry_run.skip_when_dry_run(context, "publishing the report to reports/recon/")
    business_date = parse_business_date(summary["business_date"])
    links.record(links.S3_OUTPUT, context, bucket=connections.s3_bucket(), prefix=prefix_for(business_date))
    return publish_report_files(business_date, summary, connections.s3_bucket())


def publish_summary(context: Mapping[str, Any], summary: dict[str, Any], keys: list[str]) -> int:
    """The ``publish_summary`` task, linked to the date's ops.recon.summary message."""
    links.record(links.KAFKA_TOPIC, context, topic=RECON_SUMMARY.name, business_date=summary["business_date"])
    return publish_summary_event(summary, connections.s3_bucket(), keys)


# --------------------------------------------------------------------------- with plain values


def reconcile_business_date(
    business_date: dt.date, price_tolerance_bp: float | str, quantity_tolerance: float | str
) -> dict[str, Any]:
    from include.markets_ops.reconciliation.breaks import Tolerances
    from include.markets_ops.reconciliation.breaks import reconcile as reconcile_date

    tolerances = Tolerances(
        price_bp=Decimal(str(price_tolerance_bp)), quantity=Decimal(str(quantity_tolerance))
    )
    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as conn:
        return reconcile_date(conn, business_date, tolerances).as_dict()


def preview_business_date(
    business_date: dt.date,
    price_tolerance_bp: float | str,
    quantity_tolerance: float | str,
    bucket: str,
    prefix: str,
) -> dict[str, Any]:
    """Dry run: reconcile and build the report in one transaction that is rolled back; the report
    files and the summary event go to ``s3://bucket/prefix`` only (reporting.* is unchanged)."""
    import json

    from include.markets_ops.reconciliation.breaks import Tolerances
    from include.markets_ops.reconciliation.breaks import reconcile as reconcile_date
    from include.markets_ops.reconciliation.report import build_report, prefix_for, summary_event
    from include.markets_ops.services.s3 import ReportObject, publish_folder

    tolerances = Tolerances(
        price_bp=Decimal(str(price_tolerance_bp)), quantity=Decimal(str(quantity_tolerance))
    )
    with (
        tempfile.TemporaryDirectory(prefix="recon-preview-") as folder,
        connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as conn,
        dry_run.rolled_back(conn),
    ):
        summary = reconcile_date(conn, business_date, tolerances).as_dict()
        objects, data = build_report(conn, business_date, summary, Path(folder))
        # The event a real run would publish, pointing at where the real report would be.
        real_keys = [f"{prefix_for(business_date)}{o.name}" for o in objects]
        event_path = Path(folder) / "kafka_event.json"
        event_path.write_text(json.dumps(summary_event(summary, bucket, real_keys), indent=1, default=str))
        objects.append(ReportObject("kafka_event.json", event_path, "application/json"))
        keys = publish_folder(
            connections.s3_client(),
            bucket,
            prefix,
            objects,
            {**summary, "break_rows": data.export_rows, "dry_run": True},
        )
    return {**summary, "dry_run": True, "preview_keys": keys}


def publish_report_files(business_date: dt.date, summary: dict[str, Any], bucket: str) -> list[str]:
    """Build the report files from reporting.recon_breaks and publish them; return the keys."""
    from include.markets_ops.reconciliation.report import build_report, prefix_for
    from include.markets_ops.services.s3 import publish_folder

    with (
        tempfile.TemporaryDirectory(prefix="recon-report-") as folder,
        connections.connect_postgres(postgres.REPORTING_CONN_ID) as conn,
    ):
        objects, data = build_report(conn, business_date, summary, Path(folder))
        manifest_summary = {**summary, "break_rows": data.export_rows}
        return publish_folder(
            connections.s3_client(),
            bucket,
            prefix_for(business_date),
            objects,
            manifest_summary,
        )


def publish_summary_event(summary: dict[str, Any], bucket: str, keys: list[str]) -> int:
    """One event per business date on ops.recon.summary, keyed by the date."""
    from include.markets_ops.reconciliation.report import summary_event
    from include.markets_ops.services.kafka import publish

    event = summary_event(summary, bucket, keys)
    lineage.report_topics(written=(RECON_SUMMARY.name,))
    return publish(connections.kafka_config(), RECON_SUMMARY.name, [(summary["business_date"], event)])
