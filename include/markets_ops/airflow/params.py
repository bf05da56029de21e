"""Trigger-form parameters shared by the DAGs: typed, validated, described.

Airflow validates them with JSON Schema (with format checks) both in the trigger form and
when a run is created through the REST API, so an invalid value is refused with a message
before any task runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param

BUSINESS_DATE = "business_date"
DRY_RUN = "dry_run"


def business_date_param() -> Param:
    return Param(
        None,
        type=["null", "string"],
        format="date",
        title="Business date",
        description=(
            "The business date to process (YYYY-MM-DD). Leave empty for the run's own date "
            "(the scheduled business date, or the one the triggering asset event carries)."
        ),
    )


def dry_run_param() -> Param:
    return Param(
        False,
        type="boolean",
        title="Dry run",
        description="Compute everything but publish nothing: no warehouse, S3 or Kafka writes outside the "
        "run's own preview location.",
    )


def shards_param(default: int | None) -> Param:
    """``default=None``: empty unless set, and the DAG falls back to its configured count."""
    return Param(
        default,
        type="integer" if default is not None else ["null", "integer"],
        minimum=1,
        maximum=64,
        title="Shards",
        description="How many parallel scoring pods split the business date's pending trades."
        + ("" if default is not None else " Leave empty for the configured count (Airflow Variable)."),
    )


def model_version_param(description: str) -> Param:
    return Param(
        None,
        type=["null", "string"],
        pattern=r"^[1-9][0-9]*$",
        title="Model version",
        description=description,
    )


def common_params(declared: Mapping[str, Param] | None = None, /, **extra: Param) -> dict[str, Any]:
    """The business date and dry-run parameters every nightly DAG with a dry run has, then its
    own: ``declared`` (by names declared as constants elsewhere) and ``extra`` (by keyword)."""
    return {BUSINESS_DATE: business_date_param(), DRY_RUN: dry_run_param(), **(declared or {}), **extra}
