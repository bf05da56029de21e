"""The night's alerts once the rules have run: read back, turned into Kafka messages and a
summary, and which rules failed (plain values; alerting/tasks.py opens the connections).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from include.markets_ops.errors import BadInputError
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.services.topics import OPS_ALERTS

PREFIX_TEMPLATE = "reports/alerts/business_date={business_date}/"
MESSAGE_SCHEMA_VERSION = 1


class RulesFailedError(BadInputError, RuntimeError):
    """Some rules of the run failed; the message lists each file with its error. Not retried:
    rerun the failed rules' tasks, not the check."""


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
