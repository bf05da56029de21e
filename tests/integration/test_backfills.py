"""Airflow 3's own backfill (POST /api/v2/backfills) of the nightly DAGs on the stack, over the
first three business dates of the synthetic world's clean history.

trade_reconciliation and settlement_risk_scoring are backfilled together (one run at a time
per DAG, business dates in order), then backfilled again over the same range: the runs are
backfill runs, one per date, in date order; the reconciliation finds exactly the injected
breaks (synthetic.injected_breaks, read as the owner role) and ages them date after date; every
pending trade of each date is scored once with a manifest in S3; and the second backfill leaves
identical rows and objects (reruns replace, never duplicate). A backfill of the training DAG
trains and evaluates but never promotes. A backfill of ops_demo_feed over two dates, twice, loads
each date in order and leaves the same rows. (ops_sql_alerts is not backfilled here: it reads
what these DAGs wrote, and its manual reruns are covered by tests/integration/test_report_dags.py.)"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import psycopg
import pytest
from settlement_model import contract

from devstack import settings
from include.markets_ops.scoring.manifest import MANIFEST_NAME, part_keys
from include.markets_ops.scoring.plan import SHARDS_VARIABLE
from include.markets_ops.training import promotion
from tests.integration.pipeline_stack import (
    RECON_DAG,
    SCORING_DAG,
    TRAINING_CONF,
    TRAINING_DAG,
    History,
    backfill,
    business_date_of,
    champion_version,
    comparable_scores,
    ensure_champion,
    ensure_clean_history,
    fingerprint,
    runs_between,
    s3_objects,
    start_backfill,
    wait_for_backfill,
)

BACKFILL_DAYS = 3
BACKFILLED_DAGS = (RECON_DAG, SCORING_DAG)
RECON_ROWS = (
    "SELECT business_date, trade_ref, break_type, status, first_seen_date, age_business_days, "
    "resolved_date, counterparty_id, instrument_id, internal_value, custodian_value, notional "
    "FROM reporting.recon_breaks WHERE business_date = ANY(%(dates)s) ORDER BY 1, 2, 3"
)
SCORE_ROWS = (  # without scoring_run_id and scored_at: a rerun has its own
    "SELECT business_date, trade_id, model_name, model_version, score, risk_band "
    "FROM ml.trade_scores WHERE business_date = ANY(%(dates)s) ORDER BY 1, 2"
)


@pytest.fixture(scope="module")
def history(stack: dict[str, str]) -> History:
    return ensure_clean_history(stack)


@pytest.fixture(scope="module")
def champion(airflow_api: Any, stack: dict[str, str], history: History) -> str:
    return ensure_champion(airflow_api, stack, history)


def _outputs(stack: dict[str, str], dates: list[dt.date]) -> dict[str, Any]:
    """Fingerprints of the backfilled dates' rows (reader role) and their S3 objects."""
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        rows = {
            "recon_breaks": fingerprint(reader, RECON_ROWS, {"dates": dates}),
            "trade_scores": fingerprint(reader, SCORE_ROWS, {"dates": dates}),
        }
    objects: dict[str, Any] = {}
    for day in dates:
        objects.update(s3_objects(stack, f"reports/recon/business_date={day.isoformat()}/"))
        objects.update(s3_objects(stack, contract.scores_prefix(day)))
    return {"rows": rows, "objects": objects}


@pytest.fixture(scope="module")
def backfilled(airflow_api: Any, stack: dict[str, str], history: History, champion: str) -> dict[str, Any]:
    """Both DAGs backfilled over the same three dates twice; the runs and outputs after each."""
    dates = history.dates[:BACKFILL_DAYS]
    rounds = []
    for _ in range(2):
        started = {
            dag_id: start_backfill(airflow_api, dag_id, dates[0], dates[-1]) for dag_id in BACKFILLED_DAGS
        }
        for backfill_id in started.values():
            wait_for_backfill(airflow_api, backfill_id)
        rounds.append(
            {
                "runs": {
                    dag_id: runs_between(airflow_api, dag_id, dates[0], dates[-1]) for dag_id in started
                },
                **_outputs(stack, dates),
            }
        )
    return {"dates": dates, "champion": champion, "first": rounds[0], "second": rounds[1]}


@pytest.mark.parametrize("dag_id", BACKFILLED_DAGS)
@pytest.mark.parametrize("round_name", ["first", "second"])
def test_each_backfill_runs_one_backfill_run_per_business_date_in_order(
    airflow_api: Any, backfilled: dict[str, Any], dag_id: str, round_name: str
) -> None:
    runs = backfilled[round_name]["runs"][dag_id]
    failed = {
        r["dag_run_id"]: airflow_api.failed_tasks_summary(dag_id, r["dag_run_id"])
        for r in runs
        if r["state"] != "success"
    }
    assert failed == {}
    assert [business_date_of(run["logical_date"]) for run in runs] == backfilled["dates"]
    assert {run["run_type"] for run in runs} == {"backfill"}
    # One at a time, in business-date order: each run started after the one before ended.
    for earlier, later in itertools.pairwise(runs):
        assert later["start_date"] >= earlier["end_date"], (earlier, later)


def test_the_reconciliation_finds_exactly_the_injected_breaks_and_ages_them(
    stack: dict[str, str], backfilled: dict[str, Any]
) -> None:
    dates = backfilled["dates"]
    with (
        psycopg.connect(stack["REPORTING_READER_URL"]) as reader,
        psycopg.connect(stack["WAREHOUSE_OWNER_URL"]) as owner,
    ):
        found = reader.execute(
            "SELECT trade_ref, break_type, business_date, first_seen_date, age_business_days "
            "FROM reporting.recon_breaks WHERE business_date = ANY(%s) AND status = 'open'",
            (dates,),
        ).fetchall()
        truth = owner.execute(  # the pipeline roles cannot read the truth
            "SELECT trade_ref, break_type, business_date FROM synthetic.injected_breaks "
            "WHERE business_date = ANY(%s) ORDER BY 1, 2, 3",
            (dates,),
        ).fetchall()
    # The world starts on the first date: a break's first sighting is the start of its
    # consecutive run of injected dates, its age the business dates since.
    index = {day: position for position, day in enumerate(dates)}
    expected: dict[tuple[str, str, dt.date], tuple[dt.date, int]] = {}
    for ref, kind, day in truth:
        previous = (ref, kind, dates[index[day] - 1]) if index[day] else None
        first_seen = expected[previous][0] if previous in expected else day
        expected[(ref, kind, day)] = (first_seen, index[day] - index[first_seen])
    actual = {(ref, kind, day): (first_seen, age) for ref, kind, day, first_seen, age in found}
    assert len(truth) > 100
    assert actual == expected
    ages_on = {day: {age for (_, _, d), (_, age) in actual.items() if d == day} for day in dates}
    assert ages_on == {dates[0]: {0}, dates[1]: {0, 1}, dates[2]: {0, 1, 2}}


def test_every_pending_trade_of_each_date_is_scored_once_with_a_manifest(
    stack: dict[str, str], backfilled: dict[str, Any]
) -> None:
    runs = {business_date_of(run["logical_date"]): run for run in backfilled["second"]["runs"][SCORING_DAG]}
    objects = backfilled["second"]["objects"]
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        for day in backfilled["dates"]:
            pending, scored, distinct, missing, extra, run_ids, versions = reader.execute(
                """
                WITH pending AS (
                    SELECT trade_id FROM ops.trades
                    WHERE business_date <= %(day)s AND settle_date > %(day)s AND status <> 'cancelled'
                ), scored AS (
                    SELECT trade_id, scoring_run_id, model_version FROM ml.trade_scores
                    WHERE business_date = %(day)s
                ), scored_ids AS (
                    SELECT trade_id FROM scored
                )
                SELECT (SELECT count(*) FROM pending),
                       (SELECT count(*) FROM scored),
                       (SELECT count(DISTINCT trade_id) FROM scored),
                       (SELECT count(*) FROM (TABLE pending EXCEPT TABLE scored_ids) m),
                       (SELECT count(*) FROM (TABLE scored_ids EXCEPT TABLE pending) e),
                       (SELECT array_agg(DISTINCT scoring_run_id) FROM scored),
                       (SELECT array_agg(DISTINCT model_version) FROM scored)
                """,
                {"day": day},
            ).fetchone()
            assert pending > 5_000
            assert (scored, distinct, missing, extra) == (pending, pending, 0, 0), day
            assert run_ids == [runs[day]["dag_run_id"]]
            assert versions == [backfilled["champion"]]
            manifest = json.loads(objects[f"{contract.scores_prefix(day)}{MANIFEST_NAME}"])
            assert manifest["business_date"] == day.isoformat()
            assert manifest["row_count"] == pending
            assert manifest["model_version"] == backfilled["champion"]
            assert manifest["scoring_run_id"] == runs[day]["dag_run_id"]
            # Only the parts the manifest lists remain: the first backfill's were removed.
            assert sorted(part_keys(manifest)) == sorted(
                key
                for key in objects
                if key.startswith(contract.scores_prefix(day)) and not key.endswith(MANIFEST_NAME)
            )


def test_a_second_backfill_of_the_range_replaces_the_rows_and_objects_identically(
    backfilled: dict[str, Any],
) -> None:
    first, second = backfilled["first"], backfilled["second"]
    assert first["rows"] == second["rows"]
    assert first["rows"]["recon_breaks"][0] > 100
    assert first["rows"]["trade_scores"][0] > 15_000
    assert set(comparable_scores(first["objects"])) == set(comparable_scores(second["objects"]))
    parts = int(settings.variable(SHARDS_VARIABLE))  # one Parquet part per scoring shard
    assert len(first["objects"]) == len(backfilled["dates"]) * (4 + parts + 1)  # recon 4, manifest
    assert comparable_scores(first["objects"]) == comparable_scores(second["objects"])


def test_a_backfill_of_the_training_dag_never_promotes(
    airflow_api: Any, stack: dict[str, str], history: History, champion: str
) -> None:
    day = history.training_date
    runs = backfill(airflow_api, TRAINING_DAG, day, day, conf=TRAINING_CONF)
    assert [(business_date_of(r["logical_date"]), r["run_type"]) for r in runs] == [(day, "backfill")]
    run = runs[0]
    assert run["state"] == "success", airflow_api.failed_tasks_summary(TRAINING_DAG, run["dag_run_id"])
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        decision = reader.execute(
            "SELECT decision, is_backfill, candidate_version, reasons FROM ml.model_promotions "
            "WHERE model_name = 'settlement_fail_risk' AND dag_run_id = %s "
            "ORDER BY promotion_id DESC LIMIT 1",
            (run["dag_run_id"],),
        ).fetchone()
    assert decision is not None, f"no audit row of {run['dag_run_id']}"
    kind, is_backfill, candidate, reasons = decision
    assert (kind, is_backfill) == (promotion.EVALUATED_ONLY, True)
    assert "backfill runs never promote" in reasons
    assert candidate != champion  # a new version was trained and evaluated...
    assert champion_version(stack) == champion  # ...and the champion alias did not move


def test_a_backfill_of_the_feed_loads_each_date_in_order_and_a_second_one_replaces_the_rows(
    airflow_api: Any, stack: dict[str, str]
) -> None:
    """ops_demo_feed over two business dates after the seeded history, backfilled twice."""
    from include.markets_ops.synthetic import seed
    from tests.integration.feed_stack import FEED_DAG, day_state, ensure_history

    world, _ = ensure_history(stack)
    dates = seed.business_dates(world.epoch, 4)[2:]  # the dates after the two seeded ones
    rounds = []
    for _ in range(2):
        runs = backfill(airflow_api, FEED_DAG, dates[0], dates[-1])
        rounds.append((runs, {day: day_state(stack, day) for day in dates}))

    for runs, _ in rounds:
        assert [(business_date_of(r["logical_date"]), r["run_type"], r["state"]) for r in runs] == [
            (day, "backfill", "success") for day in dates
        ], {r["dag_run_id"]: airflow_api.failed_tasks_summary(FEED_DAG, r["dag_run_id"]) for r in runs}
        for earlier, later in itertools.pairwise(runs):
            assert later["start_date"] >= earlier["end_date"], (earlier, later)
    (_, first), (_, second) = rounds
    assert second == first  # same rows, same quarantine: the second backfill replaced, never added
    for day in dates:
        assert first[day]["trades"][0] == world.trades_per_day
        assert first[day]["quarantine"] == first[day]["injected_bad_rows"]
