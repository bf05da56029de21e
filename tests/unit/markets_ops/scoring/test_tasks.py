"""The scoring DAG's tasks: the business date it accepts, the plan of a run, and what happens
before the shards start."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from include.markets_ops.errors import BadInputError
from include.markets_ops.scoring import swap, tasks
from include.markets_ops.scoring.plan import ScoringPlan

DAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize("dry_run", [False, True])
def test_plan_shards_prepares_the_next_partition_and_leaves_s3_alone_unless_a_dry_run(
    dry_run: bool,
) -> None:
    calls: list[str] = []
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    context = {"params": {"dry_run": dry_run, "shards": 2}, "run_id": "scheduled__run", "ti": ti}
    champion = {"business_date": DAY.isoformat(), "model_name": "settlement_fail_risk", "model_version": "7"}
    with (
        mock.patch.object(tasks, "thresholds_from_variables", return_value=(0.7, 0.3)),
        mock.patch("include.markets_ops.airflow.connections.s3_client") as s3_client,
        mock.patch(
            "include.markets_ops.airflow.connections.postgres_url", return_value="postgresql://warehouse"
        ),
        mock.patch.object(
            swap, "prepare_partition", side_effect=lambda url, plan: calls.append(f"prepare {url} {plan}")
        ),
    ):
        shard_arguments = tasks.plan_shards(context, champion)
        plan = ScoringPlan.from_xcom(pushed["plan"])
        again = tasks.plan_shards(context, champion)  # the run cleared: planned again
    assert shard_arguments == plan.shard_arguments()
    assert dataclasses.replace(plan, attempt="a") == ScoringPlan(
        DAY, "settlement_fail_risk", "7", 2, 0.7, 0.3, "scheduled__run", dry_run, attempt="a"
    )
    # Each plan has an attempt of its own: its parts never go where the date's manifest points.
    assert plan.attempt.startswith("scheduled__run-")
    assert ScoringPlan.from_xcom(pushed["plan"]).attempt != plan.attempt
    assert again != shard_arguments
    # The date's manifest and parts stay as they are until write_manifest replaces them.
    s3_client.assert_not_called()
    assert len(calls) == (0 if dry_run else 2)
    assert all(call.startswith("prepare postgresql://warehouse ") for call in calls)


@pytest.mark.parametrize(
    ("day", "reason"),
    [("2026-11-28", "Saturday"), ("2026-11-29", "Sunday"), ("2026-11-26", "Thanksgiving")],
)
def test_check_champion_refuses_a_date_that_is_not_a_business_day_before_anything_else(
    day: str, reason: str
) -> None:
    context = {"params": {"business_date": day}}
    with (
        mock.patch("include.markets_ops.airflow.connections.mlflow_client") as mlflow_client,
        pytest.raises(BadInputError) as refused,  # no retry: the calendar will not change
    ):
        tasks.check_champion(context)
    message = str(refused.value)
    assert message.startswith("not scored: rule business-date-is-a-business-day: 1 date is not a XNYS")
    assert f"e.g. {day} (" in message
    assert reason in message
    mlflow_client.assert_not_called()


def test_a_malformed_business_date_fails_without_retry() -> None:
    with pytest.raises(BadInputError, match="business_date must be YYYY-MM-DD, got '27/11/2026'"):
        tasks.scoring_business_date({"params": {"business_date": "27/11/2026"}})


def test_a_business_day_is_accepted() -> None:
    assert tasks.scoring_business_date({"params": {"business_date": "2026-11-27"}}) == DAY


@pytest.mark.parametrize(
    ("challenger", "problem", "shadowed"),
    [
        (None, None, None),
        ("7", None, None),  # the version scored anyway
        ("8", None, "8"),
        ("8", "the input schema of settlement_fail_risk version 8 does not match the features", None),
    ],
)
def test_check_champion_pins_the_challenger_to_score_in_shadow_when_the_job_can_score_it(
    challenger: str | None, problem: str | None, shadowed: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    aliases = {"champion": "7", "challenger": challenger}
    with (
        mock.patch("include.markets_ops.airflow.connections.mlflow_client"),
        mock.patch("include.markets_ops.airflow.connections.connection"),
        mock.patch(
            "include.markets_ops.services.model_registry.tracking_uri_of", return_value="http://mlflow"
        ),
        mock.patch("include.markets_ops.services.model_registry.credentials_of", return_value=None),
        mock.patch(
            "include.markets_ops.services.model_registry.alias_version",
            side_effect=lambda client, alias, model_name="m": aliases[alias],
        ),
        mock.patch(
            "include.markets_ops.services.model_registry.why_not_scorable", return_value=problem
        ) as why_not,
        mock.patch("include.markets_ops.airflow.links.record"),
    ):
        pinned = tasks.check_champion({"params": {"business_date": DAY.isoformat()}})
    assert (pinned["model_version"], pinned["shadow_version"]) == ("7", shadowed)
    if challenger == "8":
        why_not.assert_called_once_with("http://mlflow", None, "8")
    if problem:
        assert f"not scoring challenger version 8 in shadow tonight: {problem}" in caplog.text


def test_the_shadow_param_off_scores_the_champion_alone() -> None:
    with (
        mock.patch("include.markets_ops.airflow.connections.mlflow_client"),
        mock.patch("include.markets_ops.services.model_registry.alias_version", return_value="7"),
        mock.patch("include.markets_ops.services.model_registry.shadow_version") as shadow_version,
        mock.patch("include.markets_ops.airflow.links.record"),
    ):
        pinned = tasks.check_champion({"params": {"business_date": DAY.isoformat(), "shadow": False}})
    assert pinned["shadow_version"] is None
    shadow_version.assert_not_called()
