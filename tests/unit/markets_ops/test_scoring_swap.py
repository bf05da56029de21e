"""The swap's statements, in order, against a recording stand-in for the database: the date's
new partition is prepared, filled from every shard, then attached; nothing is deleted row by row."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest

from include.markets_ops import scoring

DAY = dt.date(2026, 11, 27)
PLAN = scoring.ScoringPlan(DAY, "settlement_fail_risk", "7", 2, 0.7, 0.3, "scheduled__run")


class Recorder:
    """Answers each statement like the warehouse would for a complete, consistent scoring."""

    def __init__(self, prepared: str = "trade_scores_p20261127_next") -> None:
        self.statements: list[str] = []
        self.prepared = prepared

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def transaction(self) -> Recorder:
        return self

    def execute(self, query: Any, params: Any = None) -> Any:
        text = query if isinstance(query, str) else query.as_string(None)
        self.statements.append(text)
        result = mock.Mock()
        if "to_regclass" in text:
            result.fetchone.return_value = {"found": True}
        elif "other_dates" in text:
            result.fetchone.return_value = {
                "row_count": 5,
                "other_dates": 0,
                "model_versions": ["7"],
                "scoring_run_ids": ["scheduled__run"],
            }
        elif "prepare_trade_scores_partition" in text:
            result.fetchone.return_value = {"table_name": self.prepared}
        elif "FILTER (WHERE risk_band" in text:
            result.fetchone.return_value = {
                "row_count": 10, "high": 1, "medium": 2, "low": 7, "model_versions": ["7"]
            }  # fmt: skip
        elif "pg_tables" in text:
            result.fetchall.return_value = [
                {"tablename": scoring.staging_table(DAY, index, 2)} for index in range(2)
            ]
        return result

    def position(self, fragment: str) -> list[int]:
        return [i for i, statement in enumerate(self.statements) if fragment in statement]


def swap(recorder: Recorder) -> dict[str, Any]:
    with mock.patch("psycopg.connect", return_value=recorder):
        return scoring.swap_into_trade_scores("postgresql://warehouse", PLAN)


def test_the_shards_fill_the_dates_new_partition_which_is_then_attached() -> None:
    recorder = Recorder()
    swapped = swap(recorder)

    (lock,) = recorder.position("pg_advisory_xact_lock")
    checks = recorder.position("other_dates")
    (prepare,) = recorder.position("prepare_trade_scores_partition")
    inserts = recorder.position('INSERT INTO "ml"."trade_scores_p20261127_next"')
    (attach,) = recorder.position("attach_trade_scores_partition")
    (summary,) = recorder.position("FILTER (WHERE risk_band")
    drops = recorder.position("DROP TABLE IF EXISTS")
    assert len(checks) == len(inserts) == len(drops) == 2
    assert lock < min(checks)
    assert max(checks) < prepare < min(inserts)
    assert max(inserts) < attach < summary < min(drops)
    for index, insert in enumerate(inserts):
        assert f'FROM "staging"."{scoring.staging_table(DAY, index, 2)}"' in recorder.statements[insert]
    assert not recorder.position("DELETE")
    assert swapped == {
        "business_date": "2026-11-27", "row_count": 10, "high": 1, "medium": 2, "low": 7, "model_version": "7"
    }  # fmt: skip


def test_the_partition_name_is_the_dates() -> None:
    assert scoring.partition_table(DAY) == "trade_scores_p20261127"


def test_a_prepared_table_of_another_name_stops_the_swap_before_any_insert() -> None:
    recorder = Recorder(prepared="trade_scores_p20261126_next")
    with pytest.raises(scoring.SwapError, match="expected trade_scores_p20261127_next"):
        swap(recorder)
    assert not recorder.position("INSERT")
