"""What the ``trade_reconciliation`` DAG's tasks do, with the connections they use.

Each function is one task: reconcile (writer role), publish the report to S3 (read-only role),
publish the summary event to Kafka. They take plain values so the DAG file only wires them.
``preview_business_date`` is the dry run's reconcile: the same work, rolled back, with the
report and the would-be Kafka event written under the run's preview prefix only.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from include.markets_ops.airflow import connections
from include.markets_ops.services import postgres
from include.markets_ops.services.topics import RECON_SUMMARY


def reconcile_business_date(
    business_date: dt.date, price_tolerance_bp: float | str, quantity_tolerance: float | str
) -> dict[str, Any]:
    from include.markets_ops.reconciliation import Tolerances, reconcile

    tolerances = Tolerances(
        price_bp=Decimal(str(price_tolerance_bp)), quantity=Decimal(str(quantity_tolerance))
    )
    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as conn:
        return reconcile(conn, business_date, tolerances).as_dict()


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

    from include.markets_ops.airflow.dry_run import rolled_back
    from include.markets_ops.recon_report import build_report, prefix_for, summary_event
    from include.markets_ops.reconciliation import Tolerances, reconcile
    from include.markets_ops.services.s3 import ReportObject, publish_folder

    tolerances = Tolerances(
        price_bp=Decimal(str(price_tolerance_bp)), quantity=Decimal(str(quantity_tolerance))
    )
    with (
        tempfile.TemporaryDirectory(prefix="recon-preview-") as folder,
        connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as conn,
        rolled_back(conn),
    ):
        summary = reconcile(conn, business_date, tolerances).as_dict()
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


def publish_report(business_date: dt.date, summary: dict[str, Any], bucket: str) -> list[str]:
    """Build the report files from reporting.recon_breaks and publish them; return the keys."""
    from include.markets_ops.recon_report import build_report, prefix_for
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


def publish_summary(summary: dict[str, Any], bucket: str, keys: list[str]) -> int:
    """One event per business date on ops.recon.summary, keyed by the date."""
    from include.markets_ops.recon_report import summary_event
    from include.markets_ops.services.kafka import publish

    event = summary_event(summary, bucket, keys)
    return publish(connections.kafka_config(), RECON_SUMMARY.name, [(summary["business_date"], event)])
