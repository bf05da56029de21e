"""Fault injection in the scoring run, on the real stack: Kafka, S3 and MLflow each paused
(SIGSTOP, a hung service) and stopped during the stage that uses it, and PostgreSQL restarted
during the swap.

Each case: a good run of the fixture date first (the module's baseline: what readers see), then
a run that meets the fault. It must fail, never succeed, within one try's budget
(settlement_model.timeouts.TRY_BUDGET_SECONDS), with an error that names the service; the
date's outputs must be unchanged for their readers (the warehouse rows' checksum, the manifest's
bytes and the parts it lists, the latest message of every key on the topic); once the service
is back, a rerun of the run gives the same outputs again, with no message missing. The time
each fault takes to surface is printed (pytest -s) and tabled in docs/operations.md.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from settlement_model import timeouts
from settlement_model.messaging import DeliveryError

from include.markets_ops.airflow.retries import Cause, cause_of
from include.markets_ops.scoring.manifest import manifest_key, part_keys, without_run_identity, write_manifest
from include.markets_ops.scoring.plan import ScoringPlan
from include.markets_ops.scoring.swap import prepare_partition, swap_into_trade_scores
from tests.integration.model.scoring_runs import (
    BUSINESS_DATE,
    Setup,
    date_rows,
    plan,
    score_date,
    score_shards,
)
from tests.support.faults import Outcome, report, service_paused, service_stopped, timed, wait_for
from tests.support.model_stack import read_topic

BUDGET = timeouts.TRY_BUDGET_SECONDS
# A paused client waits out its timeouts; a stopped service is also started again.
pytestmark = pytest.mark.timeout(BUDGET + 240)
FAULTS = [service_paused, service_stopped]


@dataclass(frozen=True)
class ReadersView:
    """What the date's readers see: rows (their checksum), the manifest and the parts it
    lists, and the latest value of every key on the topic."""

    rows_sha256: str
    manifest: bytes
    parts: tuple[bytes, ...]
    messages: dict[str, bytes]

    def without_run_identity(self) -> tuple[Any, ...]:
        """The same outputs whichever run wrote them (a rerun's manifest names its own run)."""
        return (self.rows_sha256, without_run_identity(json.loads(self.manifest)), self.parts, self.messages)


def readers_view(setup: Setup) -> ReadersView:
    rows = repr(date_rows(setup.database_url)).encode()
    manifest = setup.s3.get_object(Bucket=setup.bucket, Key=manifest_key(BUSINESS_DATE))["Body"].read()
    parts = tuple(
        setup.s3.get_object(Bucket=setup.bucket, Key=key)["Body"].read()
        for key in part_keys(json.loads(manifest))
    )
    messages = dict(read_topic(setup.stack, setup.topic))
    return ReadersView(hashlib.sha256(rows).hexdigest(), manifest, parts, messages)


@pytest.fixture(scope="module")
def baseline(setup: Setup, fixture_data: Any) -> ReadersView:
    score_date(
        setup.env, setup.s3, setup.bucket, plan(setup.model_name, setup.champion, "pytest__base"), setup.topic
    )
    view = readers_view(setup)
    assert view.messages, "the fixture date has high-risk trades, so the topic has messages"
    return view


def run_plan(setup: Setup, run_id: str) -> ScoringPlan:
    """A fresh attempt of ``run_id``, its next partition prepared (plan_shards' work)."""
    scoring_plan = plan(setup.model_name, setup.champion, run_id)
    prepare_partition(setup.database_url, scoring_plan)
    return scoring_plan


def assert_failed_naming(
    case: str,
    outcome: Outcome,
    named: str,
    error_type: type[BaseException],
    causes: tuple[Cause, ...] = (Cause.TRANSIENT,),
) -> None:
    report(case, outcome)
    assert outcome.error is not None, f"{case}: the run succeeded"
    assert isinstance(outcome.error, error_type), repr(outcome.error)
    assert named.lower() in str(outcome.error).lower(), str(outcome.error)
    assert outcome.seconds <= BUDGET, f"{case}: surfaced after {outcome.seconds:.1f} s"
    # The DAGs' retry policy retries it (airflow/retries.py): a service down is never bad input.
    assert cause_of(outcome.error) in causes, f"{case}: {outcome.error!r}"


def assert_rerun_restores(setup: Setup, before: ReadersView, baseline: ReadersView, run_id: str) -> None:
    """Unchanged for every reader since ``before`` (taken as the fault began); a rerun writes the
    baseline's outputs again."""
    assert readers_view(setup) == before
    rerun = plan(setup.model_name, setup.champion, run_id)
    score_date(setup.env, setup.s3, setup.bucket, rerun, setup.topic)
    after = readers_view(setup)
    assert after.without_run_identity() == baseline.without_run_identity()
    assert json.loads(after.manifest)["attempt"] == rerun.attempt


# --- Kafka: the shards publish the high-risk trades, then commit their rows ------------------


@pytest.mark.parametrize("fault", FAULTS, ids=["paused", "stopped"])
def test_kafka_failing_while_the_shards_publish(setup: Setup, baseline: ReadersView, fault: Any) -> None:
    run_id = f"pytest__kafka_{fault.__name__.removeprefix('service_')}"
    scoring_plan = run_plan(setup, run_id)
    before = readers_view(setup)
    with fault("kafka"):
        outcome = timed(lambda: score_shards(setup.env, scoring_plan, setup.topic))
        assert_failed_naming(run_id.removeprefix("pytest__"), outcome, setup.topic, DeliveryError)
    assert_rerun_restores(setup, before, baseline, run_id)


# --- MLflow: each shard resolves the pinned version and loads its model ----------------------


@pytest.mark.parametrize("fault", FAULTS, ids=["paused", "stopped"])
def test_mlflow_failing_while_the_shards_load_the_model(
    setup: Setup, baseline: ReadersView, fault: Any
) -> None:
    run_id = f"pytest__mlflow_{fault.__name__.removeprefix('service_')}"
    scoring_plan = run_plan(setup, run_id)
    before = readers_view(setup)
    with fault("mlflow"):
        outcome = timed(lambda: score_shards(setup.env, scoring_plan, setup.topic))
        # MLflow is not among the transient services of the policy: retried as any unknown error.
        causes = (Cause.TRANSIENT, Cause.UNKNOWN)
        assert_failed_naming(run_id.removeprefix("pytest__"), outcome, "mlflow", Exception, causes)
    assert_rerun_restores(setup, before, baseline, run_id)


# --- S3: the manifest that publishes the date's parts, written after the swap ----------------


@pytest.mark.parametrize("fault", FAULTS, ids=["paused", "stopped"])
def test_s3_failing_while_the_manifest_is_written(setup: Setup, baseline: ReadersView, fault: Any) -> None:
    """The swap has committed this run's rows (identical to the baseline's: the same model and
    trades), so the warehouse's readers see the same rows; S3's readers keep the previous
    manifest and its parts until a run's manifest replaces them."""
    run_id = f"pytest__s3_{fault.__name__.removeprefix('service_')}"
    scoring_plan = run_plan(setup, run_id)
    before = readers_view(setup)
    score_shards(setup.env, scoring_plan, setup.topic)
    swapped = swap_into_trade_scores(setup.database_url, scoring_plan)
    with fault("s3"):
        outcome = timed(lambda: write_manifest(setup.s3, setup.bucket, scoring_plan, swapped))
        assert_failed_naming(run_id.removeprefix("pytest__"), outcome, "s3", Exception)
    assert_rerun_restores(setup, before, baseline, run_id)


# --- PostgreSQL: restarted while the swap waits inside its transaction -----------------------


def _swap_waiting_for_a_lock(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            ("%attach_scores_partition%",),
        ).fetchone()
    return bool(row and row[0])


def test_postgres_restarted_during_the_swap(setup: Setup, baseline: ReadersView) -> None:
    """A reader holds the date's partition (an open transaction), so the swap waits inside its
    transaction, after it began replacing the partition; PostgreSQL restarts under it."""
    run_id = "pytest__postgres_restart"
    scoring_plan = run_plan(setup, run_id)
    before = readers_view(setup)
    score_shards(setup.env, scoring_plan, setup.topic)
    reader = psycopg.connect(setup.database_url)
    reader.execute("SELECT count(*) FROM ml.trade_scores WHERE business_date = %s", (BUSINESS_DATE,))
    with ThreadPoolExecutor(1) as pool:
        swapping = pool.submit(timed, lambda: swap_into_trade_scores(setup.database_url, scoring_plan))
        try:
            wait_for(
                lambda: _swap_waiting_for_a_lock(setup.database_url), 60, "the swap waits for the reader"
            )
            with service_stopped("postgres"):
                pass  # a fast shutdown ends every session, the swap's too; then it starts again
        finally:
            reader.close()
        outcome = swapping.result(timeout=BUDGET)
    assert_failed_naming("postgres restarted during the swap", outcome, "terminat", psycopg.OperationalError)
    assert_rerun_restores(setup, before, baseline, run_id)
