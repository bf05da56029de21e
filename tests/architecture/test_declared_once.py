"""Each fact the pipelines share is declared once and named everywhere else: a string literal
equal to one of the facts below, in the DAGs, the plugins or include/, is a copy outside its
declaration (docstrings and comments may mention them; the model pod keeps its own copies,
which tests/unit/markets_ops/test_job_contract_agreement.py compares, since it cannot import
this project).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("dags", "plugins", "include/markets_ops")
# value -> the module that declares it (relative to the repository)
FACTS = {
    **dict.fromkeys(
        ("warehouse_postgres", "warehouse_reporting", "upstream_simulator", "ops_events_outbox"),
        "include/markets_ops/services/postgres.py",
    ),
    "s3_markets": "include/markets_ops/services/s3.py",
    "s3_bucket": "include/markets_ops/services/s3.py",
    "kafka_markets": "include/markets_ops/services/kafka.py",
    "kafka_markets_reader": "include/markets_ops/services/kafka.py",
    "markets-ops-readback.": "include/markets_ops/services/kafka.py",
    "mlflow_tracking": "include/markets_ops/services/model_registry.py",
    "settlement_fail_risk": "include/markets_ops/services/model_registry.py",
    **dict.fromkeys(
        (
            "settlement-risk.high",
            "mlops.model-events",
            "ops.alerts",
            "ops.recon.summary",
            "ops.airflow.events",
            "ops.stack.checks",
        ),
        "include/markets_ops/services/topics.py",
    ),
    "America/New_York": "include/markets_ops/calendars.py",
    "/ops-dashboard": "include/markets_ops/dashboard/__init__.py",
    **dict.fromkeys(
        (
            "train_days",
            "holdout_days",
            "ignore_features",
            "evaluate_against_version",
            "rollback_to_previous_champion",
            "emergency_rollback_reason",
        ),
        "include/markets_ops/training/plan.py",
    ),
    "model_promotion_requires_approval": "include/markets_ops/training/promotion.py",
    **dict.fromkeys(
        ("model_promotion_approval_hours", "model_promotion_approvers"),
        "include/markets_ops/airflow/approval.py",
    ),
    "rule_parameters": "include/markets_ops/alerting/rules.py",
    "nightly_schedule_enabled": "include/markets_ops/airflow/switch.py",
    "nightly_pipeline_cutoff": "include/markets_ops/airflow/defaults.py",
    "23:30": "include/markets_ops/airflow/deadlines.py",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def literal_copies(root: Path = REPO) -> list[str]:
    """``path:line value`` of each fact written as a literal outside its declaring module."""
    found = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text())
            docstrings = _docstrings(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                    and FACTS.get(node.value, relative) != relative
                ):
                    found.append(f"{relative}:{node.lineno} {node.value!r}")
    return found


def test_each_fact_is_written_only_where_it_is_declared() -> None:
    assert literal_copies() == []


def test_each_fact_is_declared_where_the_list_says() -> None:
    missing = [
        f"{value!r} in {module}"
        for value, module in FACTS.items()
        if not any(
            isinstance(node, ast.Constant) and node.value == value
            for node in ast.walk(ast.parse((REPO / module).read_text()))
        )
    ]
    assert missing == []


def test_a_planted_copy_is_found(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "x.py").write_text(
        '"""Reads warehouse_reporting."""\n\nCONN = "warehouse_reporting"  # a copy\n'
    )
    assert literal_copies(tmp_path) == ["dags/x.py:3 'warehouse_reporting'"]
