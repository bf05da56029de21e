"""What the ``ops_sql_alerts`` DAG's tasks do, with the connections they use.

- ``run_rule``: one mapped task per rule file (read-only role for the query, writer role for the
  merge).
- ``publish_night``: the new alerts of the date to Kafka ``ops.alerts`` (key = rule and entity),
  the night's alerts and summary to ``s3://<bucket>/reports/alerts/business_date=D/``.
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
from collections import Counter
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from include.markets_ops.airflow import connections
from include.markets_ops.services import postgres
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.services.topics import OPS_ALERTS

PREFIX_TEMPLATE = "reports/alerts/business_date={business_date}/"
MESSAGE_SCHEMA_VERSION = 1


class RulesFailedError(RuntimeError):
    """Some rules of the run failed; the message lists each file with its error."""


def reporting(statement_timeout_ms: int | None = None) -> Callable[[], Any]:
    """Opens a rule's session as the read-only role (runner.reporting_settings), one per rule."""
    from include.markets_ops.alerting import runner

    timeout = runner.DEFAULT_STATEMENT_TIMEOUT_MS if statement_timeout_ms is None else statement_timeout_ms
    return partial(
        connections.connect_postgres, postgres.REPORTING_CONN_ID, **runner.reporting_settings(timeout)
    )


def run_rule_of_run(
    context: Mapping[str, Any], rule_file: str, overrides: Mapping[str, Any], dag_run_id: str | None
) -> dict[str, Any]:
    """The run_rule task: the rule for the run's business date, or its preview in a dry run."""
    from include.markets_ops.airflow import dry_run
    from include.markets_ops.airflow.business_date import resolve_business_date

    business_date = resolve_business_date(context)
    rule_overrides = overrides.get(rule_file.removesuffix(".sql"))
    if dry_run.is_dry_run(context):
        return preview_rule(
            rule_file,
            business_date,
            rule_overrides,
            dag_run_id,
            bucket=connections.s3_bucket(),
            prefix=dry_run.context_preview_prefix(context, business_date),
        )
    return run_rule(rule_file, business_date, rule_overrides, dag_run_id)


def publish_night_of_run(context: Mapping[str, Any]) -> dict[str, Any]:
    """The publish_alerts task (skipped in a dry run), with its links."""
    from include.markets_ops.airflow import dry_run, links
    from include.markets_ops.airflow.business_date import resolve_business_date

    dry_run.skip_when_dry_run(context, "publishing to Kafka ops.alerts and reports/alerts/")
    business_date = resolve_business_date(context)
    day = business_date.isoformat()
    bucket = connections.s3_bucket()
    links.record(links.S3_OUTPUT, context, bucket=bucket, prefix=PREFIX_TEMPLATE.format(business_date=day))
    links.record(links.KAFKA_TOPIC, context, topic=OPS_ALERTS.name, business_date=day)
    return publish_night(business_date, bucket)


def check_rules_of_run(
    context: Mapping[str, Any], rule_files: list[str], overrides: Mapping[str, Any], dag_run_id: str | None
) -> None:
    """The check_rules task: from reporting.alert_rule_runs, or from the previews in a dry run."""
    from include.markets_ops.airflow import dry_run, links
    from include.markets_ops.airflow.business_date import resolve_business_date

    business_date = resolve_business_date(context)
    if dry_run.is_dry_run(context):
        bucket, prefix = connections.s3_bucket(), dry_run.context_preview_prefix(context, business_date)
        links.record(links.S3_OUTPUT, context, bucket=bucket, prefix=prefix)
        check_previews(rule_files, dag_run_id, overrides, bucket=bucket, prefix=prefix)
        return
    check_rules(business_date, rule_files, dag_run_id, overrides)


def run_rule(
    rule_file: str, business_date: dt.date, overrides: Mapping[str, Any] | None, dag_run_id: str | None
) -> dict[str, Any]:
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
    from include.markets_ops.airflow.dry_run import rolled_back
    from include.markets_ops.alerting.runner import run_rule_file

    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as writer, rolled_back(writer):
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def read_night(conn: Any, business_date: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(alerts of the date, rule runs of the date), as JSON-ready dicts in a stable order."""
    day = {"business_date": business_date}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(read_sql("alerting/alerts_of_day.sql"), day)
        columns = [c.name for c in cur.description]
        alerts = [{k: _jsonable(v) for k, v in zip(columns, row, strict=True)} for row in cur.fetchall()]
        cur.execute(read_sql("alerting/rule_runs_of_day.sql"), day)
        columns = [c.name for c in cur.description]
        runs = [{k: _jsonable(v) for k, v in zip(columns, row, strict=True)} for row in cur.fetchall()]
    return alerts, runs


def alert_messages(alerts: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Kafka (key, value) of each new alert: key = rule and entity. A rerun sends the same keys
    with the same values again; ops.alerts is compacted (topics.py), so the log eventually keeps
    the latest record per condition, and consumers dedupe by key."""
    return [
        (
            f"{alert['rule_id']}:{alert['entity_key']}",
            {
                "schema_version": MESSAGE_SCHEMA_VERSION,
                "rule_id": alert["rule_id"],
                "business_date": alert["business_date"],
                "entity_key": alert["entity_key"],
                "severity": alert["severity"],
                "owner": alert["owner"],
                "first_raised_date": alert["first_raised_date"],
                "details": alert["details"],
            },
        )
        for alert in alerts
        if alert["is_new"]
    ]


def night_summary(
    business_date: dt.date, alerts: list[dict[str, Any]], runs: list[dict[str, Any]], messages: int
) -> dict[str, Any]:
    """The night at a glance; no run ids or clocks, so a rerun writes the same summary."""
    return {
        "business_date": business_date.isoformat(),
        "alerts": len(alerts),
        "new_alerts": sum(1 for a in alerts if a["is_new"]),
        "alerts_by_severity": dict(sorted(Counter(a["severity"] for a in alerts).items())),
        "kafka_topic": OPS_ALERTS.name,
        "kafka_messages": messages,
        "rules": [
            {
                "rule_id": r["rule_id"],
                "status": r["status"],
                "severity": r["severity"],
                "owner": r["owner"],
                "hits": r["hits"],
                "new_alerts": r["new_alerts"],
                "parameters": r["parameters"],
                "error": r["error"],
            }
            for r in runs
        ],
    }


def publish_night(business_date: dt.date, bucket: str) -> dict[str, Any]:
    from include.markets_ops.services.kafka import publish
    from include.markets_ops.services.s3 import ReportObject, publish_folder

    with connections.connect_postgres(postgres.REPORTING_CONN_ID) as conn:
        alerts, runs = read_night(conn, business_date)
    messages = alert_messages(alerts)
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


def rule_failures(
    rule_files: list[str],
    runs: list[dict[str, Any]],
    dag_run_id: str | None,
    overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    """One line per problem: a rule that failed in this run (its error names the file), a rule
    that left no record of this run, an override for a rule that does not exist."""
    by_rule = {r["rule_id"]: r for r in runs}
    problems = []
    for rule_file in rule_files:
        run = by_rule.get(rule_file.removesuffix(".sql")[:64])
        if run is None or run["dag_run_id"] != dag_run_id:
            problems.append(
                f"{rule_file}: no result recorded for this run (the task failed before recording)"
            )
        elif run["status"] != "succeeded":
            problems.append(run["error"] or f"{rule_file}: failed")
    known = {f.removesuffix(".sql") for f in rule_files}
    problems += [
        f"rule_parameters: no rule named {rule_id!r} (rules: {', '.join(sorted(known))})"
        for rule_id in sorted(overrides or {})
        if rule_id not in known
    ]
    return problems


def check_rules(
    business_date: dt.date, rule_files: list[str], dag_run_id: str | None, overrides: Mapping[str, Any] | None
) -> None:
    with connections.connect_postgres(postgres.REPORTING_CONN_ID) as conn:
        _, runs = read_night(conn, business_date)
    problems = rule_failures(rule_files, runs, dag_run_id, overrides)
    if problems:
        raise RulesFailedError(
            f"alert rules for {business_date}: {len(problems)} problem(s) among "
            f"{len(rule_files)} rule files\n" + "\n".join(problems)
        )
