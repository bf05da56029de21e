"""Rule files: the header contract, parameter binding and the built-in calendar values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from include.markets_ops.alerting import rules
from include.markets_ops.alerting.rules import RuleError, load_rule, parse_rule, rule_files

HEAD = "/*\nid: my_rule\nseverity: high\nowner: x\ndescription: d\n"
GOOD = """/*
id: my_rule
severity: high
owner: settlement-ops
description: >
  Something to act on, with 100% of the details (a percent sign in the header is fine).
parameters:
  min_age:
    type: int
    default: 5
    description: older than this
  label:
    type: text
    default: hello
    description: a label
*/
SELECT %(label)s AS entity_key, jsonb_build_object('age', %(min_age)s, 'day', %(business_date)s) AS details
"""


def test_every_shipped_rule_file_loads_and_has_the_header_fields() -> None:
    files = rule_files()
    assert len(files) == 6
    for file_name in files:
        rule = load_rule(file_name)
        assert rule.rule_id == file_name.removesuffix(".sql")
        assert rule.severity in rules.SEVERITIES
        assert rule.owner
        assert len(rule.description) > 40
        assert rule.query.lstrip().upper().startswith(("SELECT", "WITH"))


def test_a_good_rule_parses_with_typed_defaults() -> None:
    rule = parse_rule("my_rule.sql", GOOD)
    assert rule.rule_id == "my_rule"
    assert rule.severity == "high"
    assert {p.name: p.default for p in rule.parameters} == {"min_age": 5, "label": "hello"}
    assert "/*" not in rule.query  # the header is not sent to the database
    assert rule.description.startswith("Something to act on")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SELECT 1 AS entity_key, '{}'::jsonb AS details", "must start with a /* ... */ YAML header"),
        ("/* id: [unclosed */ SELECT 1", "not valid YAML"),
        ("/* just text */ SELECT 1", "expected YAML keys"),
        ("/*\nid: my_rule\nseverity: high\nowner: x\n*/\nSELECT 1", "missing description"),
        (
            "/*\nid: my_rule\nseverity: high\nowner: x\ndescription: d\ncolour: red\n*/\nSELECT 1",
            "unknown keys colour",
        ),
        (
            "/*\nid: other_rule\nseverity: high\nowner: x\ndescription: d\n*/\nSELECT 1",
            "must be the file's name",
        ),
        ("/*\nid: my_rule\nseverity: urgent\nowner: x\ndescription: d\n*/\nSELECT 1", "severity 'urgent'"),
        (HEAD + "*/\n", "no query"),
        (
            HEAD + "parameters:\n  n: {type: decimal, default: 1, description: d}\n*/\nSELECT %(n)s",
            "type 'decimal'",
        ),
        (
            HEAD + "parameters:\n  n: {type: int, default: many, description: d}\n*/\nSELECT %(n)s",
            "default of 'n'",
        ),
        (
            HEAD + "parameters:\n  n: {type: int, description: d}\n*/\nSELECT %(n)s",
            "needs a default",
        ),
        (
            HEAD
            + "parameters:\n  business_date: {type: date, default: 2026-01-02, description: d}\n*/\nSELECT 1",
            "built in",
        ),
        (
            "/*\nid: my_rule\nseverity: high\nowner: x\ndescription: d\n*/\nSELECT %(threshold)s",
            "unknown parameter",
        ),
        (
            HEAD + "parameters:\n  n: {type: int, default: 1, description: d}\n*/\nSELECT 1",
            "not used by the query",
        ),
    ],
)
def test_a_bad_rule_file_is_refused_naming_the_file_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rule("my_rule.sql", text)
    assert str(raised.value).startswith("my_rule.sql: ")
    assert problem in str(raised.value)


def test_load_rule_refuses_paths_outside_the_rules_folder(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="inside the rules folder"):
        load_rule("../recon/insert_breaks.sql")
    with pytest.raises(RuleError, match="no such rule file"):
        load_rule("missing.sql", tmp_path)


def test_rule_files_lists_only_sql_files_sorted(tmp_path: Path) -> None:
    for name in ("b_rule.sql", "a_rule.sql", "notes.md"):
        (tmp_path / name).write_text("x")
    assert rule_files(tmp_path) == ["a_rule.sql", "b_rule.sql"]


def test_bind_gives_builtins_defaults_then_overrides_coerced_to_the_declared_type() -> None:
    rule = parse_rule("my_rule.sql", GOOD)
    values = rule.bind(dt.date(2026, 11, 27), {"min_age": "7"})
    assert values["min_age"] == 7
    assert values["label"] == "hello"
    assert values["business_date"] == dt.date(2026, 11, 27)
    assert rule.declared_values(values) == {"min_age": 7, "label": "hello"}


def test_bind_refuses_an_unknown_parameter_naming_the_file_and_the_declared_ones() -> None:
    rule = parse_rule("my_rule.sql", GOOD)
    with pytest.raises(
        RuleError, match=r"my_rule.sql: unknown parameter 'min_agee' \(the rule declares: label, min_age\)"
    ):
        rule.bind(dt.date(2026, 11, 27), {"min_agee": 3})


@pytest.mark.parametrize(("name", "value"), [("min_age", "three"), ("min_age", True), ("label", 5)])
def test_bind_refuses_a_value_of_the_wrong_type(name: str, value: object) -> None:
    rule = parse_rule("my_rule.sql", GOOD)
    with pytest.raises(RuleError, match=f"parameter '{name}'"):
        rule.bind(dt.date(2026, 11, 27), {name: value})


def test_a_text_value_containing_sql_is_bound_unchanged() -> None:
    rule = parse_rule("my_rule.sql", GOOD)
    hostile = "x'); DROP TABLE reporting.alerts; --"
    values = rule.bind(dt.date(2026, 11, 27), {"label": hostile})
    assert values["label"] == hostile
    assert hostile not in rule.query  # the query text never contains a value


def test_builtin_calendar_values_skip_weekends_and_exchange_holidays() -> None:
    # Friday 2026-11-27 follows Thanksgiving (Thursday 26th, an NYSE holiday).
    values = rules.builtin_values(dt.date(2026, 11, 27))
    assert values["previous_business_date"] == dt.date(2026, 11, 25)
    assert values["next_business_date"] == dt.date(2026, 11, 30)
    recent = values["recent_business_days"]
    assert len(recent) == rules.RECENT_BUSINESS_DAYS
    assert recent[:3] == [dt.date(2026, 11, 25), dt.date(2026, 11, 24), dt.date(2026, 11, 23)]
    assert recent == sorted(recent, reverse=True)
    assert all(day.weekday() < 5 for day in recent)
    assert dt.date(2026, 11, 26) not in recent
