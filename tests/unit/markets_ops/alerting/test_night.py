"""The night's alerts: which rules failed, the Kafka messages, the night's summary."""

from __future__ import annotations

import datetime as dt

from include.markets_ops.alerting.night import alert_messages, night_summary, rule_failures

RUN = "manual__2026-11-27"


def _run(rule_id: str, status: str = "succeeded", error: str | None = None, run_id: str = RUN) -> dict:
    return {
        "rule_id": rule_id,
        "status": status,
        "severity": "high",
        "owner": "ops",
        "hits": 1,
        "new_alerts": 1,
        "parameters": {},
        "error": error,
        "dag_run_id": run_id,
    }


def test_no_failures_when_every_rule_of_this_run_succeeded() -> None:
    assert rule_failures(["a.sql", "b.sql"], [_run("a"), _run("b")], RUN) == []


def test_failures_name_the_file_and_error_and_rules_that_left_no_record() -> None:
    runs = [
        _run("a", "failed", "a.sql: malformed header: missing owner"),
        _run("b", run_id="an-earlier-run"),  # a record, but not of this run
    ]
    problems = rule_failures(["a.sql", "b.sql", "c.sql"], runs, RUN, {"a": {}, "zzz": {"x": 1}})
    assert problems == [
        "a.sql: malformed header: missing owner",
        "b.sql: no result recorded for this run (the task failed before recording)",
        "c.sql: no result recorded for this run (the task failed before recording)",
        "rule_parameters: no rule named 'zzz' (rules: a, b, c)",
    ]


def _alert(rule_id: str, entity: str, is_new: bool) -> dict:
    return {
        "rule_id": rule_id,
        "business_date": "2026-11-27",
        "entity_key": entity,
        "severity": "high",
        "details": {"n": 1},
        "first_raised_date": "2026-11-27" if is_new else "2026-11-25",
        "is_new": is_new,
        "owner": "settlement-ops",
    }


def test_only_new_alerts_become_messages_keyed_by_rule_and_entity() -> None:
    messages = alert_messages(
        [_alert("r1", "CP-1", True), _alert("r1", "CP-2", False), _alert("r2", "T-9", True)]
    )
    assert [key for key, _ in messages] == ["r1:CP-1", "r2:T-9"]
    assert messages[0][1] == {
        "schema_version": 1,
        "rule_id": "r1",
        "business_date": "2026-11-27",
        "entity_key": "CP-1",
        "severity": "high",
        "owner": "settlement-ops",
        "first_raised_date": "2026-11-27",
        "details": {"n": 1},
    }


def test_the_night_summary_counts_and_leaves_out_run_ids() -> None:
    alerts = [_alert("r1", "CP-1", True), _alert("r1", "CP-2", False)]
    summary = night_summary(dt.date(2026, 11, 27), alerts, [_run("r1")], messages=1)
    assert summary["alerts"] == 2
    assert summary["new_alerts"] == 1
    assert summary["alerts_by_severity"] == {"high": 2}
    assert summary["kafka_messages"] == 1
    assert "dag_run_id" not in summary["rules"][0]
