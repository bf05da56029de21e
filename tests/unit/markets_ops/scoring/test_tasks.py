"""The scoring DAG's tasks: the plan of a run, and what happens before the shards start."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from include.markets_ops.scoring import manifest, swap, tasks
from include.markets_ops.scoring.plan import ScoringPlan

DAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize("dry_run", [False, True])
def test_plan_shards_prepares_the_next_partition_after_retracting_the_manifest_unless_a_dry_run(
    dry_run: bool,
) -> None:
    calls: list[str] = []
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    context = {"params": {"dry_run": dry_run, "shards": 2}, "run_id": "scheduled__run", "ti": ti}
    champion = {"business_date": DAY.isoformat(), "model_name": "settlement_fail_risk", "model_version": "7"}
    with (
        mock.patch.object(tasks, "thresholds_from_variables", return_value=(0.7, 0.3)),
        mock.patch("include.markets_ops.airflow.connections.s3_client"),
        mock.patch("include.markets_ops.airflow.connections.s3_bucket", return_value="bucket"),
        mock.patch(
            "include.markets_ops.airflow.connections.postgres_url", return_value="postgresql://warehouse"
        ),
        mock.patch.object(manifest, "retract_manifest", side_effect=lambda *a: calls.append("retract")),
        mock.patch.object(
            swap, "prepare_partition", side_effect=lambda url, plan: calls.append(f"prepare {url} {plan}")
        ),
    ):
        shard_arguments = tasks.plan_shards(context, champion)
    plan = ScoringPlan.from_xcom(pushed["plan"])
    assert shard_arguments == plan.shard_arguments()
    assert plan == ScoringPlan(DAY, "settlement_fail_risk", "7", 2, 0.7, 0.3, "scheduled__run", dry_run)
    assert calls == ([] if dry_run else ["retract", f"prepare postgresql://warehouse {plan}"])
