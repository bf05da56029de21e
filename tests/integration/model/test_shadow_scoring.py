"""Shadow scoring on the real stack: a challenger scored beside the champion by the same run.

The challenger's score of every trade the champion scored lands in ml.shadow_scores, swapped in
the same transaction as the champion's partition; the champion's rows, Parquet parts, manifest
and Kafka messages are exactly what a run without a challenger writes; a failed swap leaves both
tables as they were; and the comparison of the two on realised outcomes matches the metrics
computed here from the rows themselves."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from settlement_model.metrics import gate_metric

from include.markets_ops.scoring import shadow
from include.markets_ops.scoring.manifest import manifest_key, without_run_identity
from include.markets_ops.scoring.swap import SwapError, prepare_partition, swap_into_trade_scores
from tests.integration.model.scoring_runs import (
    BUSINESS_DATE,
    Setup,
    date_rows,
    objects,
    plan,
    score_date,
    score_shards,
)
from tests.support.model_stack import read_topic, train


@pytest.fixture(scope="module")
def challenger(setup: Setup, reader_env: Any) -> str:
    """Another version: shallower trees, so its scores differ from the champion's."""
    return train(reader_env, max_leaf_nodes=2, max_iter=40)


def shadow_rows(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT trade_id, model_version, score, scoring_run_id FROM ml.shadow_scores "
            "WHERE business_date = %s ORDER BY trade_id",
            (BUSINESS_DATE,),
        ).fetchall()


def test_the_challenger_is_scored_beside_the_champion_and_nowhere_else(setup: Setup, challenger: str) -> None:
    s3, bucket, topic = setup.s3, setup.bucket, setup.topic
    alone = score_date(setup.env, s3, bucket, plan(setup.model_name, setup.champion, "pytest__alone"), topic)
    rows_alone, objects_alone = date_rows(setup.database_url), objects(s3, bucket)
    messages_alone = read_topic(setup.stack, topic)

    in_shadow = dataclasses.replace(
        plan(setup.model_name, setup.champion, "pytest__shadow"), shadow_version=challenger
    )
    shadowed = score_date(setup.env, s3, bucket, in_shadow, topic)

    # The challenger scored every trade the champion scored, in the same run.
    rows = date_rows(setup.database_url)
    shadow_scores = shadow_rows(setup.database_url)
    assert [r[0] for r in shadow_scores] == [r[1] for r in rows]
    assert {(r[1], r[3]) for r in shadow_scores} == {(challenger, "pytest__shadow")}
    assert shadowed["swapped"]["shadow_row_count"] == len(rows) == shadowed["swapped"]["row_count"]
    assert [r[2] for r in shadow_scores] != [r[4] for r in rows]  # another model's scores
    assert sum(shard.shadow_rows for shard in shadowed["shards"]) == len(rows)
    # The champion's outputs are those of a run without a challenger: rows, parts, messages.
    assert rows == rows_alone
    after = objects(s3, bucket)
    assert without_run_identity(json.loads(after[manifest_key(BUSINESS_DATE)])) == without_run_identity(
        json.loads(objects_alone[manifest_key(BUSINESS_DATE)])
    )
    assert shadowed["manifest"]["checksum"] == alone["manifest"]["checksum"]
    # The topic now holds each message of the run alone twice (read per partition, in offset
    # order): the shadow run published the same ones, and none of the challenger's.
    messages = read_topic(setup.stack, topic)
    assert Counter(messages) == Counter(dict.fromkeys(messages_alone, 2))
    assert all(json.loads(value)["model_version"] == setup.champion for _, value in messages)


def test_a_swap_that_fails_leaves_both_tables_as_they_were(setup: Setup, challenger: str) -> None:
    good = dataclasses.replace(
        plan(setup.model_name, setup.champion, "pytest__good"), shadow_version=challenger
    )
    score_date(setup.env, setup.s3, setup.bucket, good, setup.topic)
    champion_before, shadow_before = date_rows(setup.database_url), shadow_rows(setup.database_url)

    # Shard 1 of the next run does not score the challenger: the swap refuses the whole date.
    broken = dataclasses.replace(good, scoring_run_id="pytest__broken", attempt="pytest__broken-0001")
    prepare_partition(setup.database_url, broken)
    score_shards(setup.env, broken, setup.topic, only=0)
    score_shards(setup.env, dataclasses.replace(broken, shadow_version=None), setup.topic, only=1)
    with pytest.raises(SwapError, match=r"ml\.shadow_scores: \d+ shadow scores for \d+ champion scores"):
        swap_into_trade_scores(setup.database_url, broken)
    assert date_rows(setup.database_url) == champion_before
    assert shadow_rows(setup.database_url) == shadow_before


def test_the_comparison_is_both_models_metrics_on_the_same_realised_trades(
    setup: Setup, challenger: str, fixture_data: Any
) -> None:
    run = dataclasses.replace(
        plan(setup.model_name, setup.champion, "pytest__compare"), shadow_version=challenger
    )
    score_date(setup.env, setup.s3, setup.bucket, run, setup.topic)
    known_by = fixture_data.last_day

    first = shadow.compare(setup.database_url, known_by, lookback_days=3650)
    again = shadow.compare(setup.database_url, known_by, lookback_days=3650)  # a rerun: the same row

    (compared,) = [c for c in first.written if c["business_date"] == BUSINESS_DATE]
    assert compared["realised_trades"] < compared["scored_trades"]  # not final: computed again
    assert [c for c in again.written if c["business_date"] == BUSINESS_DATE] == [pytest.approx(compared)]
    failed = {o["trade_id"] for o in fixture_data.outcomes if o["outcome"] == "failed"}
    pending = {t["trade_id"]: t for t in fixture_data.pending_on(BUSINESS_DATE)}
    champion_scores = {r[1]: r[4] for r in date_rows(setup.database_url)}
    challenger_scores = {r[0]: r[2] for r in shadow_rows(setup.database_url)}
    realised = sorted(t for t, trade in pending.items() if trade["settle_date"] <= known_by)
    labels = [int(t in failed) for t in realised]
    assert (compared["scored_trades"], compared["realised_trades"], compared["fails"]) == (
        len(pending),
        len(realised),
        sum(labels),
    )
    assert compared["champion_roc_auc"] == pytest.approx(
        gate_metric("roc_auc", labels, [champion_scores[t] for t in realised])
    )
    assert compared["challenger_brier"] == pytest.approx(
        gate_metric("brier", labels, [challenger_scores[t] for t in realised])
    )
    with psycopg.connect(setup.stack["REPORTING_READER_URL"]) as reader:
        stored = reader.execute(
            "SELECT champion_version, challenger_version, realised_trades, challenger_roc_auc, "
            "outcomes_known_by FROM ml.shadow_comparisons WHERE business_date = %s AND model_name = %s",
            (BUSINESS_DATE, setup.model_name),
        ).fetchall()
    assert stored == [
        (setup.champion, challenger, len(realised), pytest.approx(compared["challenger_roc_auc"]), known_by)
    ]

    # An earlier night's comparison (fewer outcomes known) never replaces a later one's.
    shadow.compare(setup.database_url, BUSINESS_DATE, lookback_days=1)
    evidence = shadow.evidence(setup.database_url, setup.model_name, challenger, setup.champion)
    assert [(e["business_date"], e["outcomes_known_by"]) for e in evidence] == [
        (BUSINESS_DATE.isoformat(), known_by.isoformat())
    ]


COPY_OUTCOMES = (
    "COPY ops.settlement_outcomes (trade_id, business_date, outcome, settled_date, days_late) FROM STDIN"
)


@pytest.fixture
def every_outcome_reported(setup: Setup, fixture_data: Any) -> Iterator[dt.date]:
    """The fixture's outcomes stop at its last day: the business date's trades that settle after
    it get an on-time settlement on their settle date, removed afterwards. Yields the last of
    those dates, by which every trade of the business date is realised."""
    pending = fixture_data.pending_on(BUSINESS_DATE)
    unreported = [t for t in pending if t["settle_date"] > fixture_data.last_day]
    with (
        psycopg.connect(setup.database_url) as conn,
        conn.cursor() as cursor,
        cursor.copy(COPY_OUTCOMES) as copy,
    ):
        for trade in unreported:
            copy.write_row((trade["trade_id"], trade["settle_date"], "settled", trade["settle_date"], 0))
    try:
        yield max(t["settle_date"] for t in pending)
    finally:
        with psycopg.connect(setup.database_url) as conn:
            conn.execute(
                "DELETE FROM ops.settlement_outcomes WHERE trade_id = ANY(%s) AND business_date > %s",
                ([t["trade_id"] for t in unreported], fixture_data.last_day),
            )


def test_a_final_comparison_is_read_again_only_when_its_scores_or_inputs_change(
    setup: Setup, challenger: str, every_outcome_reported: dt.date
) -> None:
    """Every trade realised: the next night leaves the date alone, until the date is scored
    again (even by a cleared run, under the same run id) or a file it read may have changed
    (loads recorded as the feed's loader records them: record_load.sql)."""
    run = dataclasses.replace(
        plan(setup.model_name, setup.champion, "pytest__final"), shadow_version=challenger
    )
    score_date(setup.env, setup.s3, setup.bucket, run, setup.topic)
    known_by = every_outcome_reported

    def compared_now(night: dt.date = known_by) -> tuple[list[dict[str, Any]], bool]:
        done = shadow.compare(setup.database_url, night, lookback_days=3650)
        written = [c for c in done.written if c["business_date"] == BUSINESS_DATE]
        return written, BUSINESS_DATE in done.final_dates

    (first,), final = compared_now()
    assert first["realised_trades"] == first["scored_trades"] > 0
    assert not final
    stored = stored_comparison(setup)
    assert stored["scoring_run_id"] == "pytest__final"

    assert compared_now() == ([], True)  # the same night again
    assert compared_now(known_by + dt.timedelta(days=1)) == ([], True)  # the next night
    assert stored_comparison(setup) == stored  # not written again

    # Files of outcomes the row read (reported after the date, by its known_by) loaded again:
    # one committed (read again: the same outcomes, the same row), and one still running while
    # that comparison reads, so its outcomes may be missing from it: read again once committed.
    day_after = {"source": "settlement_outcomes", "business_date": BUSINESS_DATE + dt.timedelta(days=1)}
    two_days_after = {**day_after, "business_date": BUSINESS_DATE + dt.timedelta(days=2)}
    with (
        recorded_loads(setup, day_after) as record_running,
        recorded_loads(setup, two_days_after) as record_committed,
    ):
        with psycopg.connect(setup.database_url) as running:
            record_running(running, upserted=False)
            with psycopg.connect(setup.database_url) as committed:
                record_committed(committed, upserted=False)
            (again,), final = compared_now()
            assert not final
            assert again == pytest.approx(first)
        (after_commit,), final = compared_now()
        assert not final
        assert after_commit == pytest.approx(first)
        assert compared_now() == ([], True)  # and final again

    # Trades loaded again: a plain COPY of new trades changes no scored one; an upsert over
    # loaded trades (a rerun, or trades re-sent) can have changed any date's.
    trades = {"source": "trades", "business_date": known_by + dt.timedelta(days=3)}
    with recorded_loads(setup, trades) as record:
        with psycopg.connect(setup.database_url) as loading:
            record(loading, upserted=False)
        assert compared_now() == ([], True)
        with psycopg.connect(setup.database_url) as loading:
            record(loading, upserted=True)
        (_,), final = compared_now()
        assert not final

    # The date scored again by a cleared run: the same run id, new partitions.
    cleared = dataclasses.replace(run, attempt="pytest__final-cleared")
    score_date(setup.env, setup.s3, setup.bucket, cleared, setup.topic)
    (rescored,), final = compared_now()
    assert not final
    assert rescored["scored_trades"] == first["scored_trades"]
    assert stored_comparison(setup)["scores_tables"] != stored["scores_tables"]
    assert compared_now() == ([], True)


RECORDED_LOAD = "SELECT FROM ops.feed_loads WHERE source = %(source)s AND business_date = %(business_date)s"
DELETE_RECORDED_LOAD = (
    "DELETE FROM ops.feed_loads WHERE source = %(source)s AND business_date = %(business_date)s"
)


@contextlib.contextmanager
def recorded_loads(setup: Setup, load: dict[str, Any]) -> Iterator[Callable[..., None]]:
    """Record loads of a source and date in ops.feed_loads as the loader does (its own SQL),
    on a connection of the caller's (committed when it closes); removed afterwards. The date
    has no load of its own: the fixture is written without the feed."""
    from include.markets_ops.services.sql_files import read_sql

    with psycopg.connect(setup.database_url) as conn:
        assert conn.execute(RECORDED_LOAD, load).fetchone() is None

    def record(connection: Any, *, upserted: bool) -> None:
        counts = {"received_rows": 1, "loaded_rows": 1, "quarantined_rows": 0, "upserted": upserted}
        connection.execute(read_sql("feed/record_load.sql"), {**load, **counts, "dag_run_id": "pytest"})

    try:
        yield record
    finally:
        with psycopg.connect(setup.database_url) as conn:
            conn.execute(DELETE_RECORDED_LOAD, load)


def stored_comparison(setup: Setup) -> dict[str, Any]:
    from psycopg.rows import dict_row

    with psycopg.connect(setup.stack["REPORTING_READER_URL"], row_factory=dict_row) as reader:
        row = reader.execute(
            "SELECT * FROM ml.shadow_comparisons WHERE business_date = %s AND model_name = %s",
            (BUSINESS_DATE, setup.model_name),
        ).fetchone()
    assert row is not None
    return row


def test_the_plan_leaves_out_a_challenger_the_job_would_refuse(setup: Setup, challenger: str) -> None:
    """check_champion's question to the registry, asked of the real one: the challenger is
    scorable; a version that is not there is not, and says why."""
    from include.markets_ops.services import model_registry

    stack = setup.stack
    credentials = model_registry.Credentials(
        stack["MLFLOW_TRACKING_USERNAME"], stack["MLFLOW_TRACKING_PASSWORD"]
    )
    uri = stack["MLFLOW_TRACKING_URI"]
    assert model_registry.why_not_scorable(uri, credentials, challenger, setup.model_name) is None
    problem = model_registry.why_not_scorable(uri, credentials, "999", setup.model_name)
    assert problem is not None
    assert "999" in problem
