"""The consumer-facing schema of ops.airflow.events (docs/schemas/ops.airflow.events.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "ops.airflow.events.json"


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        json.loads(SCHEMA_FILE.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def schema_errors(event: Any) -> list[str]:
    """Every way the event breaks the schema (empty when it conforms)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(event)]
