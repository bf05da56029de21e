"""Adding a rule is adding a file, and its test: this fails for a rule file without one.

A rule's tests live in tests/integration/test_alert_rules.py and are named
``test_<rule_id>__<what it shows>``; every rule needs at least one test that expects hits and
one that expects none.
"""

from __future__ import annotations

import ast
from pathlib import Path

from include.markets_ops.alerting.rules import rule_files

RULE_TESTS = Path(__file__).resolve().parents[3] / "integration" / "test_alert_rules.py"


def _test_names() -> list[str]:
    tree = ast.parse(RULE_TESTS.read_text())
    return [
        node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


def test_the_rule_tests_module_exists_and_has_tests() -> None:
    assert RULE_TESTS.is_file()
    assert len(_test_names()) >= 12


def test_every_rule_file_has_a_hit_test_and_a_no_hit_test() -> None:
    names = _test_names()
    missing = []
    for rule_id in (f.removesuffix(".sql") for f in rule_files()):
        tests = [n for n in names if n.startswith(f"test_{rule_id}__")]
        if not any("__hits" in n or "__raises" in n for n in tests):
            missing.append(f"{rule_id}: no test_{rule_id}__hits_... / __raises_... test")
        if not any("__no_hit" in n for n in tests):
            missing.append(f"{rule_id}: no test_{rule_id}__no_hit_... test")
    assert missing == []
