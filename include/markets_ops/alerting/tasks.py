"""The ``ops_sql_alerts`` DAG's tasks, named as them: the only module of the pipeline that sees
the Airflow context, the connections and the run's links.

- ``list_rules``: the rule files (rules.py).
- ``run_rule``: one mapped task per rule file (read-only role for the query, writer role for
  the merge, runner.py); a rule's own error fails without retries.
- ``publish_alerts``: the new alerts of the date to Kafka ``ops.alerts`` (key = rule and
  entity), the night's alerts and summary to ``s3://<bucket>/reports/alerts/business_date=D/``
  (night.py), and the ``reporting.alerts`` asset event.
- ``check_rules``: fails the run, naming each failed rule file and its error, when any rule of
  this run failed or left no record (the other rules have run and been published by then).

Dry run (``preview_rule`` / ``check_previews``): each rule is evaluated and merged exactly as in a
real run, inside a transaction that is rolled back; what the merge would leave for the rule
(its alerts of the date, ``is_new`` included) goes to ``<preview prefix><rule_id>.json`` only.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from include.markets_ops.airflow import connections, dry_run, lineage, links
from include.markets_ops.airflow.assets import ALERTS
from include.markets_ops.airflow.business_date import resolve_business_date
from include.markets_ops.alerting.night import (
    PREFIX_TEMPLATE,
    RulesFailedError,
    alert_messages,
    night_summary,
    read_night,
    rule_failures,
)
from include.markets_ops.alerting.rules import RULE_PARAMETERS_PARAM
from include.markets_ops.services import postgres
from include.markets_ops.services.topics import OPS_ALERTS


def list_rules() -> list[str]:
    from include.markets_ops.alerting.rules import rule_files

    return rule_files()


def run_rule(context: Mapping[str, Any], rule_file: str) -> dict[str, Any]:
    """The rule for the run's business date, or its preview in a dry run. A malformed header,
    an unknown parameter or a SQL error of the rule's making fails at once (no retries)."""
    from include.markets_ops.alerting.runner import is_permanent
    from include.markets_ops.errors import BadInputError

    business_date = resolve_business_date(context)
    rule_overrides = _overrides(context).get(rule_file.removesuffix(".sql"))
    dag_run_id = context.get("run_id")
    try:
        if dry_run.is_dry_run(context):
            return preview_rule(
                rule_file,
                business_date,
                rule_overrides,
                dag_run_id,
                bucket=connections.s3_bucket(),
                prefix=dry_run.context_preview_prefix(context, business_date),
            )
        return evaluate_rule(rule_file, business_date, rule_overrides, dag_run_id)
    except Exception as error:
        if isinstance(error, BadInputError) or not is_permanent(error):
            raise  # a RuleError as it is; anything else retried by its cause
        raise BadInputError(f"{rule_file}: {error}") from error  # a SQL error of the rule's making


def publish_alerts(context: Mapping[str, Any]) -> dict[str, Any]:
    """The night's alerts published (skipped in a dry run), with its links and asset event."""
    dry_run.skip_when_dry_run(context, "publishing to Kafka ops.alerts and reports/alerts/")
    business_date = resolve_business_date(context)
    day = business_date.isoformat()
    bucket = connections.s3_bucket()
    links.record(links.S3_OUTPUT, context, bucket=bucket, prefix=PREFIX_TEMPLATE.format(business_date=day))
    links.record(links.KAFKA_TOPIC, context, topic=OPS_ALERTS.name, business_date=day)
    summary = publish_night(business_date, bucket)
    context["outlet_events"][ALERTS].extra = {"business_date": summary["business_date"]}
    return summary


def check_rules(context: Mapping[str, Any], rule_files: list[str]) -> None:
    """From reporting.alert_rule_runs, or from the previews in a dry run; fails the run without
    retries (RulesFailedError is bad input) listing every failed rule."""
    business_date = resolve_business_date(context)
    overrides, dag_run_id = _overrides(context), context.get("run_id")
    if dry_run.is_dry_run(context):
        bucket, prefix = connections.s3_bucket(), dry_run.context_preview_prefix(context, business_date)
        links.record(links.S3_OUTPUT, context, bucket=bucket, prefix=prefix)
        check_previews(rule_files, dag_run_id, overrides, bucket=bucket, prefix=prefix)
        return
    check_rule_runs(business_date, rule_files, dag_run_id, overrides)


def _overrides(context: Mapping[str, Any]) -> Mapping[str, Any]:
    return (context.get("params") or {}).get(RULE_PARAMETERS_PARAM) or {}


# --------------------------------------------------------------------------- with plain values


def reporting(statement_timeout_ms: int | None = None) -> Callable[[], Any]:
    """Opens a rule's session as the read-only role (runner.reporting_settings), one per rule."""
    from include.markets_ops.alerting import runner

    timeout = runner.DEFAULT_STATEMENT_TIMEOUT_MS if statement_timeout_ms is None else statement_timeout_ms
    return partial(
        connections.connect_postgres, postgres.REPORTING_CONN_ID, **runner.reporting_settings(timeout)
    )


def evaluate_rule(
    rule_file: str, business_date: dt.date, overrides: Mapping[str, Any] | None, dag_run_id: str | None
) -> dict[str, Any]:
    """One rule for the date: evaluated as the read-only role, merged as the writer."""
    from include.markets_ops.alerting.runner import run_rule_file

    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as writer:
        outcome = run_rule_file(
            rule_file,
            business_date,
            overrides,
            reporting=reporting(),
            writer_conn=writer,
            dag_run_id=dag_run_id,
        )
    return outcome.as_dict()


def preview_rule(
    rule_file: str,
    business_date: dt.date,
    overrides: Mapping[str, Any] | None,
    dag_run_id: str | None,
    *,
    bucket: str,
    prefix: str,
) -> dict[str, Any]:
    """Dry run of one rule: evaluate and merge, read back the rule's alerts, roll back; write the
    outcome and those alerts to ``s3://bucket/prefix<rule_id>.json``."""
    from include.markets_ops.alerting.runner import run_rule_file

    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as writer, dry_run.rolled_back(writer):
        outcome = run_rule_file(
            rule_file,
            business_date,
            overrides,
            reporting=reporting(),
            writer_conn=writer,
            dag_run_id=dag_run_id,
        )
        alerts, _ = read_night(writer, business_date)
    preview = {
        **outcome.as_dict(),
        "business_date": business_date.isoformat(),
        "dag_run_id": dag_run_id,
        "dry_run": True,
        "alerts": [a for a in alerts if a["rule_id"] == outcome.rule_id],
    }
    key = f"{prefix}{outcome.rule_id}.json"
    connections.s3_client().put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(preview, sort_keys=True, default=str).encode(),
        ContentType="application/json",
    )
    return {**outcome.as_dict(), "preview_key": key}


def check_previews(
    rule_files: list[str],
    dag_run_id: str | None,
    overrides: Mapping[str, Any] | None,
    bucket: str,
    prefix: str,
) -> None:
    """Dry run's check_rules: every rule file left its preview object (a failed rule left none)."""
    client = connections.s3_client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    present = {item["Key"][len(prefix) :].removesuffix(".json") for item in listed}
    runs = [
        {"rule_id": rule_id, "dag_run_id": dag_run_id, "status": "succeeded", "error": None}
        for rule_id in present
    ]
    problems = rule_failures(rule_files, runs, dag_run_id, overrides)
    if problems:
        raise RulesFailedError(
            f"alert rules (dry run): {len(problems)} problem(s) among {len(rule_files)} rule files\n"
            + "\n".join(problems)
        )


def publish_night(business_date: dt.date, bucket: str) -> dict[str, Any]:
    """The date's new alerts to Kafka, its alerts and the night's summary to S3."""
    from include.markets_ops.services.kafka import publish
    from include.markets_ops.services.s3 import ReportObject, publish_folder

    with connections.connect_postgres(postgres.REPORTING_CONN_ID) as conn:
        alerts, runs = read_night(conn, business_date)
    messages = alert_messages(alerts)
    if messages:
        lineage.report_topics(written=(OPS_ALERTS.name,))
    sent = publish(connections.kafka_config(), OPS_ALERTS.name, messages) if messages else 0
    summary = night_summary(business_date, alerts, runs, sent)
    with tempfile.TemporaryDirectory(prefix="alerts-") as folder:
        lines = Path(folder) / "alerts.jsonl"
        with lines.open("w", encoding="utf-8") as handle:
            for alert in alerts:
                handle.write(json.dumps(alert, sort_keys=True, default=str) + "\n")
        keys = publish_folder(
            connections.s3_client(),
            bucket,
            PREFIX_TEMPLATE.format(business_date=business_date.isoformat()),
            [ReportObject("alerts.jsonl", lines, "application/x-ndjson")],
            summary,
        )
    return {**summary, "s3_keys": keys}


def check_rule_runs(
    business_date: dt.date, rule_files: list[str], dag_run_id: str | None, overrides: Mapping[str, Any] | None
) -> None:
    """RulesFailedError naming every rule of this run that failed or left no record."""
    with connections.connect_postgres(postgres.REPORTING_CONN_ID) as conn:
        _, runs = read_night(conn, business_date)
    problems = rule_failures(rule_files, runs, dag_run_id, overrides)
    if problems:
        raise RulesFailedError(
            f"alert rules for {business_date}: {len(problems)} problem(s) among "
            f"{len(rule_files)} rule files\n" + "\n".join(problems)
        )
