"""The model's input contract: columns, types, SQL parameters and the signature check."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest
from settlement_model import features


def test_every_session_parameter_the_sql_reads_is_on_the_allow_list() -> None:
    sql = features.training_set_sql() + features.read_sql("counterparty_history.sql")
    read = set(re.findall(r"current_setting\('([a-z_.]+)'\)", sql))
    assert read == set(features.SQL_PARAMETERS)


def test_the_training_sql_inlines_the_pending_trades_sql() -> None:
    sql = features.training_set_sql()
    assert "/* pending_trades.sql */" not in sql
    assert features.pending_trades_sql() in sql


@pytest.mark.parametrize(("index", "count"), [(-1, 2), (2, 2), (0, 0)])
def test_an_impossible_shard_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="not a valid shard"):
        features.feature_parameters([dt.date(2026, 11, 20)], index, count)


def test_parameters_are_strings_the_sql_casts() -> None:
    values = features.feature_parameters([dt.date(2026, 11, 19), dt.date(2026, 11, 20)], 1, 4)
    assert values == {
        "settlement_model.as_of_dates": "{2026-11-19,2026-11-20}",
        "settlement_model.shard_index": "1",
        "settlement_model.shard_count": "4",
    }


def test_model_input_has_the_signature_columns_in_order_with_their_types() -> None:
    table = pa.table(
        {
            **{name: pa.array(["a", None]) for name in features.CATEGORICAL},
            **{name: pa.array([1.5, None], pa.float64()) for name in features.NUMERIC},
            "trade_id": pa.array(["T1", "T2"]),
        }
    )
    frame = features.model_input(table)
    assert list(frame.columns) == list(features.FEATURES)
    assert all(frame[name].dtype == "str" for name in features.CATEGORICAL)
    assert all(frame[name].dtype == "float64" for name in features.NUMERIC)
    assert frame["asset_class"].isna().tolist() == [False, True]
    assert frame["liquidity_tier"].isna().tolist() == [False, True]


def test_a_matching_signature_has_no_problems() -> None:
    assert features.signature_problems(dict(features.SIGNATURE_TYPES)) == []


def test_signature_problems_name_missing_extra_and_mistyped_columns() -> None:
    schema = dict(features.SIGNATURE_TYPES)
    del schema["ssi_status"]
    schema["legacy_score"] = "double"
    schema["log_notional"] = "string"
    problems = " | ".join(features.signature_problems(schema))
    assert "features the model does not take: ssi_status" in problems
    assert "model inputs this job does not compute: legacy_score" in problems
    assert "log_notional (model: string, job: double)" in problems


def test_as_of_dates_are_sorted_for_the_sql_that_reads_the_first_and_last() -> None:
    values = features.feature_parameters([dt.date(2026, 11, 20), dt.date(2026, 10, 1), dt.date(2026, 11, 2)])
    assert values["settlement_model.as_of_dates"] == "{2026-10-01,2026-11-02,2026-11-20}"


def _shard_predicate(sql: str, alias: str) -> str:
    """The shard expression of a query, whitespace folded, its table alias taken out."""
    match = re.search(r"abs\(hashtextextended\(.*?shard_index'\)::int", sql, re.DOTALL)
    assert match is not None, "no shard predicate"
    return " ".join(match.group(0).split()).replace(f"{alias}.trade_id", "trade_id")


def test_a_shard_deletes_exactly_the_slice_of_trades_it_scores() -> None:
    """delete_shard_slice.sql puts a trade in the same shard as pending_trades.sql does."""
    pending = _shard_predicate(features.pending_trades_sql(), "t")
    deleted = _shard_predicate(features.read_sql("delete_shard_slice.sql"), "s")
    assert deleted == pending
    assert "current_setting('settlement_model.shard_count')" in deleted
