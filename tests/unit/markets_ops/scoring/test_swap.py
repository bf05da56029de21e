"""The plan's prepare step and the swap's statements, in order, against a recording stand-in for
the database: the date's next partition is prepared before the shards (which fill it), then the
swap attaches it and checks it holds this run's rows; nothing is copied or deleted row by row.
With a challenger in shadow, its partition of ml.shadow_scores is prepared and attached beside
the champion's, in the same transactions, and checked to hold a score of every trade."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from settlement_model import contract

from include.markets_ops.scoring.plan import ScoringPlan
from include.markets_ops.scoring.swap import (
    SwapError,
    partition_table,
    prepare_partition,
    swap_into_trade_scores,
)

DAY = dt.date(2026, 11, 27)
PLAN = ScoringPlan(DAY, "settlement_fail_risk", "7", 2, 0.7, 0.3, "scheduled__run")
SHADOW_PLAN = ScoringPlan(DAY, "settlement_fail_risk", "7", 2, 0.7, 0.3, "scheduled__run", shadow_version="8")
SUMMARY = {
    "row_count": 10,
    "high": 1,
    "medium": 2,
    "low": 7,
    "model_versions": ["7"],
    "scoring_run_ids": ["scheduled__run"],
}
SHADOW_SUMMARY = {"row_count": 10, "model_versions": ["8"], "scoring_run_ids": ["scheduled__run"]}


class Recorder:
    """Answers each statement like the warehouse would for a complete, consistent scoring."""

    def __init__(
        self,
        prepared: str = "p20261127_next",
        next_exists: bool = True,
        summary: dict[str, Any] | None = None,
        pending: bool = True,
        shadow_summary: dict[str, Any] | None = None,
    ) -> None:
        self.statements: list[str] = []
        self.parameters: list[Any] = []
        self.prepared = prepared
        self.next_exists = next_exists
        self.summary = SUMMARY if summary is None else summary
        self.pending = pending
        self.shadow_summary = SHADOW_SUMMARY if shadow_summary is None else shadow_summary

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def transaction(self) -> Recorder:
        return self

    def execute(self, query: Any, params: Any = None) -> Any:
        text = query if isinstance(query, str) else query.as_string(None)
        self.statements.append(text)
        self.parameters.append(params)
        result = mock.Mock()
        if "to_regclass" in text:
            result.fetchone.return_value = {"found": self.next_exists}
        elif "prepare_scores_partition" in text:
            result.fetchone.return_value = {"table_name": f"{params['scores_table']}_{self.prepared}"}
        elif "FROM ml.shadow_scores" in text:
            result.fetchone.return_value = self.shadow_summary
        elif "FILTER (WHERE risk_band" in text:
            result.fetchone.return_value = self.summary
        elif "ops.trades" in text:
            result.fetchone.return_value = {"pending": self.pending}
        elif "pg_tables" in text:
            result.fetchall.return_value = [
                {"tablename": contract.staging_table_name(DAY, index, 2)} for index in range(2)
            ]
        return result

    def position(self, fragment: str) -> list[int]:
        return [i for i, statement in enumerate(self.statements) if fragment in statement]


def swap(recorder: Recorder, plan: ScoringPlan = PLAN) -> dict[str, Any]:
    with mock.patch("psycopg.connect", return_value=recorder):
        return swap_into_trade_scores("postgresql://warehouse", plan)


def prepare(recorder: Recorder, plan: ScoringPlan = PLAN) -> list[str]:
    with mock.patch("psycopg.connect", return_value=recorder):
        return prepare_partition("postgresql://warehouse", plan)


def test_the_plan_prepares_the_dates_next_partition_under_the_dates_lock() -> None:
    recorder = Recorder()
    assert prepare(recorder) == ["trade_scores_p20261127_next"]
    (timeout,) = recorder.position("statement_timeout")
    (lock,) = recorder.position("pg_advisory_xact_lock")
    (prepared,) = recorder.position("prepare_scores_partition")
    assert timeout < lock < prepared
    assert recorder.parameters[prepared] == {"business_date": DAY, "scores_table": "trade_scores"}
    assert len(recorder.statements) == 3


def test_a_plan_with_a_challenger_prepares_its_shadow_partition_beside_the_champions() -> None:
    recorder = Recorder()
    assert prepare(recorder, SHADOW_PLAN) == ["trade_scores_p20261127_next", "shadow_scores_p20261127_next"]
    prepared = recorder.position("prepare_scores_partition")
    assert [recorder.parameters[i]["scores_table"] for i in prepared] == ["trade_scores", "shadow_scores"]
    assert len(recorder.position("pg_advisory_xact_lock")) == 1  # one transaction, one lock


def test_a_prepared_table_of_another_name_is_an_error() -> None:
    with pytest.raises(SwapError, match="expected trade_scores_p20261127_next"):
        prepare(Recorder(prepared="p20261126_next"))


def test_the_swap_attaches_the_next_partition_checks_it_and_drops_leftover_work_tables() -> None:
    recorder = Recorder()
    swapped = swap(recorder)

    builds = recorder.position("index_scores_partition")
    (lock,) = recorder.position("pg_advisory_xact_lock")
    *_, exists = recorder.position("to_regclass")  # the builders' checks first
    (attach,) = recorder.position("attach_scores_partition")
    assert max(builds) < lock
    (summary,) = recorder.position("FILTER (WHERE risk_band")
    drops = recorder.position("DROP TABLE IF EXISTS")
    assert lock < exists < attach < summary < min(drops)
    assert recorder.parameters[exists] == {"table": "ml.trade_scores_p20261127_next"}
    assert [recorder.statements[drop] for drop in drops] == [
        f'DROP TABLE IF EXISTS "staging"."{contract.staging_table_name(DAY, index, 2)}"\n'
        for index in range(2)
    ]
    # No rows are moved by the swap, none deleted row by row, and it prepares nothing itself.
    for fragment in ("INSERT", "DELETE", "prepare_scores_partition", "ops.trades", "FROM ml.shadow_scores"):
        assert not recorder.position(fragment), fragment
    assert swapped == {
        "business_date": "2026-11-27", "row_count": 10, "high": 1, "medium": 2, "low": 7,
        "model_version": "7", "shadow_version": None, "shadow_row_count": 0,
    }  # fmt: skip


def test_the_challengers_partition_is_attached_in_the_same_transaction_and_checked() -> None:
    recorder = Recorder()
    swapped = swap(recorder, SHADOW_PLAN)
    attaches = recorder.position("attach_scores_partition")
    # The shadow partition first: its indexes are built before the champion's attach locks
    # ml.trade_scores (its readers then wait for catalog changes only), and counted then too.
    assert [recorder.parameters[i]["scores_table"] for i in attaches] == ["shadow_scores", "trade_scores"]
    assert [recorder.parameters[i]["table"] for i in recorder.position("to_regclass")[-2:]] == [
        "ml.shadow_scores_p20261127_next",
        "ml.trade_scores_p20261127_next",
    ]
    (shadow_summary,) = recorder.position("FROM ml.shadow_scores")
    assert attaches[0] < shadow_summary < attaches[1] < min(recorder.position("DROP TABLE IF EXISTS"))
    assert (swapped["shadow_version"], swapped["shadow_row_count"]) == ("8", 10)


@pytest.mark.parametrize(
    ("shadow_summary", "message"),
    [
        ({**SHADOW_SUMMARY, "row_count": 9}, "9 shadow scores for 10 champion scores"),
        ({**SHADOW_SUMMARY, "model_versions": ["6"]}, r"model versions \['6'\], expected 8"),
        ({**SHADOW_SUMMARY, "scoring_run_ids": ["manual__other"]}, r"scoring runs \['manual__other'\]"),
    ],
)
def test_shadow_rows_that_do_not_match_the_champions_are_refused(
    shadow_summary: dict[str, Any], message: str
) -> None:
    recorder = Recorder(shadow_summary=shadow_summary)
    with pytest.raises(SwapError, match=message):
        swap(recorder, SHADOW_PLAN)
    assert not recorder.position("DROP TABLE")  # refused inside the transaction: rolled back


def test_the_partition_names_are_the_dates() -> None:
    assert partition_table(DAY) == "trade_scores_p20261127"
    assert contract.next_partition_name(DAY) == "trade_scores_p20261127_next"


def test_a_missing_next_partition_stops_the_swap_before_the_attach() -> None:
    recorder = Recorder(next_exists=False)
    with pytest.raises(SwapError, match=r"ml\.trade_scores_p20261127_next is missing.*rerun the whole run"):
        swap(recorder)
    for fragment in ("index_scores_partition", "attach_scores_partition"):
        assert not recorder.position(fragment), fragment


@pytest.mark.parametrize(
    ("plan", "tables"), [(PLAN, ["trade_scores"]), (SHADOW_PLAN, ["shadow_scores", "trade_scores"])]
)
def test_every_index_of_the_next_partitions_is_built_before_the_swaps_transaction(
    plan: ScoringPlan, tables: list[str]
) -> None:
    """Each index by itself (its own connection, checked and bounded like the swap), all of them
    before the transaction that attaches the tables."""
    recorder = Recorder()
    swap(recorder, plan)
    builds = recorder.position("index_scores_partition")
    built = sorted(
        (recorder.parameters[i]["scores_table"], recorder.parameters[i]["index_kind"]) for i in builds
    )
    assert built == [(table, index) for table in tables for index in ("primary_key", "trade_id")]
    assert max(builds) < min(recorder.position("pg_advisory_xact_lock"))
    assert len(recorder.position("statement_timeout")) == len(builds) + 1
    assert len(recorder.position("to_regclass")) == len(builds) + len(tables)


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        (
            {**SUMMARY, "scoring_run_ids": ["manual__other"]},
            r"scoring runs \['manual__other'\], expected scheduled__run",
        ),
        (
            {**SUMMARY, "scoring_run_ids": ["scheduled__run", "manual__other"]},
            r"scoring runs \['scheduled__run', 'manual__other'\]",
        ),
        ({**SUMMARY, "model_versions": ["6"]}, r"model versions \['6'\], expected 7"),
    ],
)
def test_rows_of_another_run_or_model_version_are_refused_after_the_attach(
    summary: dict[str, Any], message: str
) -> None:
    recorder = Recorder(summary=summary)
    with pytest.raises(SwapError, match=message):
        swap(recorder)
    # Refused inside the attach's transaction (rolled back): no work table dropped either.
    assert recorder.position("attach_scores_partition")
    assert not recorder.position("DROP TABLE")


EMPTY = {
    **SUMMARY,
    "row_count": 0,
    "high": 0,
    "medium": 0,
    "low": 0,
    "model_versions": [],
    "scoring_run_ids": [],
}


def test_an_empty_date_is_refused_while_trades_are_pending() -> None:
    recorder = Recorder(summary=EMPTY, pending=True)
    with pytest.raises(SwapError, match="no scores at all, but trades are pending"):
        swap(recorder)
    (pending,) = recorder.position("ops.trades")
    assert recorder.parameters[pending] == {"business_date": DAY}


def test_an_empty_date_without_pending_trades_is_swapped() -> None:
    swapped = swap(Recorder(summary=EMPTY, pending=False))
    assert (swapped["row_count"], swapped["high"]) == (0, 0)
