"""Running one alert rule: evaluate it read-only, merge its hits into reporting.alerts.

- The query runs in a session of its own as the read-only reporting role, with a statement
  timeout on the session (``evaluate``, ``reporting_settings``).
- Its hits are copied into a staging work table and merged into ``reporting.alerts`` for
  (rule, business date) in one transaction of the writer role: reruns update the same rows,
  a condition already raised on the rule's previous run is not new (``merge``).
- Every evaluation, succeeded or failed, leaves its record in ``reporting.alert_rule_runs``
  (bound parameters, hits, new alerts, or the error), which the night's summary reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.alerting.rules import RESULT_COLUMNS, Rule, RuleError
from include.markets_ops.calendars import OPERATIONS_CALENDAR
from include.markets_ops.services.sql_files import read_sql

log = logging.getLogger(__name__)

DEFAULT_STATEMENT_TIMEOUT_MS = 120_000
MERGE_STATEMENT_TIMEOUT = "5min"
ENTITY_KEY_MAX_LENGTH = 128  # reporting.alerts.entity_key
# A condition raised on a run at most this many business days back is still the same alert.
MAX_GAP_BUSINESS_DAYS = 5
# SQLSTATEs that mean the rule itself is wrong (bad SQL, bad data types, missing privilege,
# a write attempted on the read-only connection): retrying cannot help. Others (a statement
# timeout, a lost connection) may be transient and are retried.
PERMANENT_SQLSTATE_CLASSES = ("0A", "21", "22", "42")
PERMANENT_SQLSTATES = ("25006",)  # read_only_sql_transaction


@dataclass(frozen=True)
class Hit:
    entity_key: str
    details: dict[str, Any]


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: str
    file_name: str
    hits: int
    new_alerts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "file_name": self.file_name,
            "hits": self.hits,
            "new_alerts": self.new_alerts,
        }


def is_permanent(error: BaseException) -> bool:
    """True when retrying the rule cannot help (RuleError, or a SQL error of the rule's making)."""
    if isinstance(error, RuleError):
        return True
    sqlstate = str(getattr(error, "sqlstate", None) or "")
    return sqlstate[:2] in PERMANENT_SQLSTATE_CLASSES or sqlstate in PERMANENT_SQLSTATES


def reporting_settings(statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> dict[str, Any]:
    """The libpq settings of a rule's session as the read-only role: every statement is limited
    and read-only in the session."""
    # jit off and random_page_cost 1.1: as for reconciliation (reconciliation.PLANNER_SETTINGS);
    # JIT compiling cost seconds on score_drift_psi, and with the spinning-disk default the
    # planner read the whole score history sequentially for a 20-day window (make bench).
    return {
        "options": (
            f"-c statement_timeout={int(statement_timeout_ms)} -c default_transaction_read_only=on "
            "-c jit=off -c random_page_cost=1.1"
        )
    }


def evaluate(connect: Callable[[], Any], rule: Rule, values: Mapping[str, Any]) -> list[Hit]:
    """Run the rule's query with its bound values in a session of its own (``connect`` opens it,
    as the read-only role with ``reporting_settings``); check the result's shape."""
    with connect() as session, session.cursor() as cursor:
        cursor.execute(rule.query, dict(values))
        rows = cursor.fetchall() if cursor.description else []
        columns = tuple(column.name for column in cursor.description or ())
    if columns != RESULT_COLUMNS:
        raise RuleError(
            rule.file_name,
            f"the query must return the columns {', '.join(RESULT_COLUMNS)}; it returns {', '.join(columns)}",
        )
    _check_rows(rule, rows)
    return [Hit(str(row[0]), row[1]) for row in rows]


def _check_rows(rule: Rule, rows: list[Any]) -> None:
    """Raise RuleError naming the rule, the count and an example of the bad rows."""
    null_keys = [row for row in rows if row[0] is None or row[0] == ""]
    if null_keys:
        raise RuleError(rule.file_name, f"{len(null_keys)} rows have no entity_key, e.g. {null_keys[0]!r}")
    long_keys = [row[0] for row in rows if len(str(row[0])) > ENTITY_KEY_MAX_LENGTH]
    if long_keys:
        raise RuleError(
            rule.file_name,
            f"{len(long_keys)} entity keys are longer than {ENTITY_KEY_MAX_LENGTH}, "
            f"e.g. {long_keys[0][:40]!r}...",
        )
    not_objects = [row for row in rows if not isinstance(row[1], dict)]
    if not_objects:
        raise RuleError(
            rule.file_name,
            f"{len(not_objects)} rows have details that are not a JSON object, e.g. {not_objects[0]!r}",
        )
    counts = Counter(str(row[0]) for row in rows)
    duplicates = sorted(key for key, count in counts.items() if count > 1)
    if duplicates:
        raise RuleError(
            rule.file_name, f"{len(duplicates)} entity keys appear more than once, e.g. {duplicates[0]!r}"
        )


def _hits_table(rule_id: str, business_date: dt.date) -> Any:
    """A work table in staging, unique per (rule, date): the rule id is validated lower_snake_case."""
    from psycopg import sql

    digest = hashlib.sha256(f"{rule_id}|{business_date}".encode()).hexdigest()[:16]
    return sql.Identifier("staging", f"alert_hits_{digest}")


def merge(
    conn: Any,
    rule: Rule,
    business_date: dt.date,
    hits: list[Hit],
    *,
    values: Mapping[str, Any],
    dag_run_id: str | None,
) -> RuleOutcome:
    """Merge ``hits`` into reporting.alerts and record the run, in one transaction (writer role)."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    table = _hits_table(rule.rule_id, business_date)
    key = {"rule_id": rule.rule_id, "business_date": business_date}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', %s, true)", [MERGE_STATEMENT_TIMEOUT])
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), %s)", [rule.rule_id, business_date.toordinal()]
        )
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        cur.execute(
            sql.SQL("CREATE TABLE {} (entity_key text PRIMARY KEY, details jsonb NOT NULL)").format(table)
        )
        with cur.copy(sql.SQL("COPY {} (entity_key, details) FROM STDIN").format(table)) as copy:
            for hit in hits:
                copy.write_row((str(hit.entity_key), json.dumps(hit.details, sort_keys=True, default=str)))
        cur.execute(
            read_sql("alerting/previous_run_date.sql"),
            {**key, "earliest_previous": _earliest_previous(business_date)},
        )
        previous_run_date = cur.fetchone()[0]
        cur.execute(
            sql.SQL(read_sql("alerting/merge_alerts.sql")).format(hits=table),
            {**key, "severity": rule.severity, "previous_run_date": previous_run_date},
        )
        cur.execute(sql.SQL(read_sql("alerting/delete_cleared_alerts.sql")).format(hits=table), key)
        cur.execute(sql.SQL("DROP TABLE {}").format(table))
        cur.execute(read_sql("alerting/count_new_alerts.sql"), key)
        new_alerts = int(cur.fetchone()[0])
        cur.execute(
            read_sql("alerting/record_rule_run.sql"),
            {
                **key,
                "status": "succeeded",
                "severity": rule.severity,
                "owner": rule.owner,
                "hits": len(hits),
                "new_alerts": new_alerts,
                "parameters": Jsonb(_jsonable(rule.declared_values(values))),
                "error": None,
                "dag_run_id": dag_run_id,
            },
        )
    return RuleOutcome(rule.rule_id, rule.file_name, len(hits), new_alerts)


def record_failure(
    conn: Any,
    rule_id: str,
    business_date: dt.date,
    error: str,
    *,
    dag_run_id: str | None,
    rule: Rule | None = None,
) -> None:
    """Record a failed evaluation (the rule's alerts of the date are left as they were)."""
    from psycopg.types.json import Jsonb

    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            read_sql("alerting/record_rule_run.sql"),
            {
                "rule_id": rule_id,
                "business_date": business_date,
                "status": "failed",
                "severity": rule.severity if rule else None,
                "owner": rule.owner if rule else None,
                "hits": None,
                "new_alerts": None,
                "parameters": Jsonb({}),
                "error": error[:4000],
                "dag_run_id": dag_run_id,
            },
        )


def _earliest_previous(business_date: dt.date) -> dt.date:
    return calendars.add_business_days(business_date, -MAX_GAP_BUSINESS_DAYS, OPERATIONS_CALENDAR)


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def run_rule_file(
    file_name: str,
    business_date: dt.date,
    overrides: Mapping[str, Any] | None,
    *,
    reporting: Any,
    writer_conn: Any,
    dag_run_id: str | None,
    rules_dir: Path | None = None,
) -> RuleOutcome:
    """Load, bind, evaluate and merge one rule file; on any error record it, then re-raise.

    ``reporting`` opens a session of the read-only role (``reporting_settings``), one per
    evaluation; ``writer_conn`` is a psycopg connection of the writer role.
    """
    import psycopg

    from include.markets_ops.alerting.rules import load_rule

    rule_id = file_name.removesuffix(".sql")
    rule: Rule | None = None
    try:
        rule = load_rule(file_name, rules_dir)
        values = rule.bind(business_date, overrides)
        log.info(
            "rule %s (%s) for %s with %s",
            rule.rule_id,
            file_name,
            business_date,
            rule.declared_values(values),
        )
        hits = evaluate(reporting, rule, values)
        return merge(writer_conn, rule, business_date, hits, values=values, dag_run_id=dag_run_id)
    except Exception as error:
        message = (
            str(error) if isinstance(error, RuleError) else f"{file_name}: {type(error).__name__}: {error}"
        )
        try:
            record_failure(
                writer_conn, rule_id[:64], business_date, message, dag_run_id=dag_run_id, rule=rule
            )
        except psycopg.Error as record_error:
            # The rule's own error is the one to report; the missing record shows in the summary.
            log.warning("could not record the failure of %s: %s", file_name, record_error)
        raise
