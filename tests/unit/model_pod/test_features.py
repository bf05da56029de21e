"""The features: the model's input contract (columns, types, SQL parameters, the signature
check), and point-in-time features of hand-made rows (what was known at the end of the as-of
date, and only that)."""

from __future__ import annotations

import datetime as dt
import math
import re

import pyarrow as pa
import pytest
from settlement_model import features


def test_every_session_parameter_the_sql_reads_is_on_the_allow_list() -> None:
    sql = features.training_set_sql() + features.read_sql("counterparty_history.sql")
    read = set(re.findall(r"current_setting\('([a-z_.]+)'\)", sql))
    assert read == set(features.SQL_PARAMETERS)


def test_the_training_sql_inlines_the_pending_trades_sql_without_its_order() -> None:
    sql = features.training_set_sql()
    pending = features.pending_trades_sql()
    assert "/* pending_trades.sql */" not in sql
    assert pending.rstrip().endswith(features.PENDING_TRADES_ORDER)
    assert pending.rstrip().removesuffix(features.PENDING_TRADES_ORDER) in sql
    assert features.PENDING_TRADES_ORDER not in sql
    assert sql.rstrip().endswith("ORDER BY f.as_of_date, f.trade_id")


def test_one_as_of_dates_sql_reads_the_date_once_instead_of_searching_each_trades_dates() -> None:
    general = features.pending_trades_sql()
    one_date = features.pending_trades_sql(one_as_of_date=True)
    search = ("generate_series(", "width_bucket(t.")
    assert all(call in general for call in search)
    assert not any(call in one_date for call in search)
    the_date = "(SELECT (current_setting('settlement_model.as_of_dates')::date[])[1])"
    assert f"    {the_date} AS as_of_date,\n" in one_date
    # Only the select list's date changes: the WHERE clause (which makes the date right) and the order stay.
    assert general.split("FROM ops.trades AS t", 1)[1] == one_date.split("FROM ops.trades AS t", 1)[1]


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


# --- point-in-time features of hand-made rows: what was known at the end of the as-of date,
# and only that

UTC = dt.UTC
REFERENCE = features.Reference(
    instruments=pa.table(
        {
            "instrument_id": ["US0000000001", "XS0000000002", "EZ0000000003"],
            "asset_class": ["equity", "corporate_bond", "fx"],
            "market": ["XNYS", "XICSD", "FXSPOT"],
            "settlement_cycle_days": pa.array([1, 2, 2], pa.int32()),
            "liquidity_tier": pa.array([1, 3, 1], pa.int32()),
        }
    ),
    counterparties=pa.table(
        {"counterparty_id": ["CP1", "CP2"], "sector": ["bank", "asset_manager"], "country_code": ["US", "GB"]}
    ),
    history=pa.table(
        {
            "as_of_date": pa.array([dt.date(2026, 11, 24)], pa.date32()),
            "counterparty_id": ["CP1"],
            "attempts": [70.0],
            "fails": [7.0],
        }
    ),
)


def rows(**overrides: object) -> pa.Table:
    """One pending trade on as-of date Tue 24 Nov 2026 (US, T+1, booked and confirmed that day)."""
    booked = dt.datetime(2026, 11, 24, 14, tzinfo=UTC)
    row = {
        "as_of_date": dt.date(2026, 11, 24),
        "trade_id": "T1",
        "business_date": dt.date(2026, 11, 24),
        "trade_date": dt.date(2026, 11, 24),
        "settle_date": dt.date(2026, 11, 25),
        "instrument_id": "US0000000001",
        "counterparty_id": "CP1",
        "side": "BUY",
        "desk": "US Cash Equities",
        "currency": "USD",
        "settlement_location": "DTC",
        "ssi_status": "matched",
        "notional": 2_000_000.0,
        "booked_at": booked,
        "confirmed_at": booked + dt.timedelta(hours=2),
        "allocated_at": booked + dt.timedelta(minutes=30),
    }
    row.update(overrides)
    schema = pa.schema(
        [
            ("as_of_date", pa.date32()), ("trade_id", pa.string()), ("business_date", pa.date32()),
            ("trade_date", pa.date32()), ("settle_date", pa.date32()), ("instrument_id", pa.string()),
            ("counterparty_id", pa.string()), ("side", pa.string()), ("desk", pa.string()),
            ("currency", pa.string()), ("settlement_location", pa.string()), ("ssi_status", pa.string()),
            ("notional", pa.float64()), ("booked_at", pa.timestamp("us", tz="UTC")),
            ("confirmed_at", pa.timestamp("us", tz="UTC")), ("allocated_at", pa.timestamp("us", tz="UTC")),
        ]
    )  # fmt: skip
    return pa.Table.from_pylist([row], schema=schema)


def features_of(**overrides: object) -> dict[str, object]:
    table = features.feature_table(rows(**overrides), REFERENCE)
    assert table.column_names[: len(features.IDENTIFIERS)] == list(features.IDENTIFIERS)
    assert set(features.FEATURES) <= set(table.column_names)
    return table.to_pylist()[0]


def test_a_plain_trade() -> None:
    row = features_of()
    assert (row["asset_class"], row["market"], row["liquidity_tier"], row["settlement_cycle_days"]) == (
        "equity",
        "XNYS",
        1.0,
        1.0,
    )
    assert (row["counterparty_sector"], row["counterparty_country"], row["cross_border"]) == (
        "bank",
        "US",
        "domestic",
    )
    assert (row["days_to_settle"], row["settle_calendar_days"], row["booking_delay_days"]) == (1.0, 1.0, 0.0)
    assert row["holidays_in_settlement_window"] == 0.0
    assert (row["confirmed_on_booking_day"], row["confirmation_hours"]) == (1.0, 2.0)
    assert (row["allocated_on_booking_day"], row["allocation_hours"]) == (1.0, 0.5)
    assert row["log_notional"] == pytest.approx(math.log(2_000_000))
    assert row["counterparty_attempts_90d"] == 70.0
    assert row["counterparty_fail_rate_90d"] == pytest.approx((7 + 0.9) / (70 + 30))


def test_a_confirmation_after_the_as_of_date_is_not_known_yet() -> None:
    later = dt.datetime(2026, 11, 25, 9, tzinfo=UTC)
    row = features_of(confirmed_at=later)
    assert row["confirmed_on_booking_day"] == 0.0
    assert math.isnan(row["confirmation_hours"])


def test_a_confirmation_after_the_booking_day_but_before_the_as_of_date() -> None:
    booked = dt.datetime(2026, 11, 23, 14, tzinfo=UTC)
    row = features_of(
        business_date=dt.date(2026, 11, 23),
        trade_date=dt.date(2026, 11, 23),
        booked_at=booked,
        confirmed_at=booked + dt.timedelta(hours=20),
        instrument_id="XS0000000002",
    )
    assert row["confirmed_on_booking_day"] == 0.0  # not by the end of its booking day
    assert row["confirmation_hours"] == 20.0  # but known by the end of the as-of date


def test_never_confirmed() -> None:
    row = features_of(confirmed_at=None)
    assert row["confirmed_on_booking_day"] == 0.0
    assert math.isnan(row["confirmation_hours"])


def test_a_market_holiday_inside_the_settlement_window() -> None:
    # Wed 25 Nov, T+2 in a market closed on Thanksgiving (Thu 26): settles Mon 30 Nov, so the
    # weekdays strictly between are Thu and Fri, one more than a T+2 window has.
    row = features_of(
        as_of_date=dt.date(2026, 11, 25),
        business_date=dt.date(2026, 11, 25),
        trade_date=dt.date(2026, 11, 25),
        settle_date=dt.date(2026, 11, 30),
        instrument_id="XS0000000002",
        booked_at=dt.datetime(2026, 11, 25, 14, tzinfo=UTC),
        confirmed_at=None,
        allocated_at=None,
    )
    assert row["holidays_in_settlement_window"] == 1.0
    assert row["settle_calendar_days"] == 5.0


def test_a_late_booking_and_a_cross_border_trade() -> None:
    row = features_of(trade_date=dt.date(2026, 11, 23), counterparty_id="CP2")
    assert row["booking_delay_days"] == 1.0
    assert row["cross_border"] == "cross_border"


def test_payment_versus_payment_has_no_cross_border_leg() -> None:
    assert features_of(instrument_id="EZ0000000003", settlement_location="CLS")["cross_border"] == "pvp"


def test_a_counterparty_without_history_gets_the_prior() -> None:
    row = features_of(counterparty_id="CP2")
    assert row["counterparty_attempts_90d"] == 0.0
    assert row["counterparty_fail_rate_90d"] == pytest.approx(features.PRIOR_FAIL_RATE)


def test_unknown_reference_data_gives_missing_values_not_an_error() -> None:
    row = features_of(instrument_id="ZZ9999999999")
    assert row["asset_class"] is None
    assert math.isnan(row["settlement_cycle_days"])


def test_an_unknown_counterparty_has_no_country_and_is_not_domestic() -> None:
    row = features_of(counterparty_id="CP9")
    assert (row["counterparty_sector"], row["counterparty_country"]) == (None, None)
    assert row["cross_border"] == "cross_border"


def test_an_instrument_unknown_to_the_reference_data_has_no_country() -> None:
    """Its country, like its other attributes, comes from the reference data: the trade's id
    starting with the counterparty's country does not make an unknown instrument domestic
    (ops.trades' foreign key keeps every booked instrument in the reference data)."""
    assert features_of(instrument_id="US9999999999")["cross_border"] == "cross_border"


def test_reference_categoricals_are_dictionaries_of_the_reference_values() -> None:
    """A million trades share a few thousand instruments: their values are not copied per trade.
    ``decoded`` makes them plain strings (the training snapshot's type), missing values kept."""
    table = features.feature_table(
        pa.concat_tables([rows(), rows(trade_id="T2", counterparty_id="CP9", instrument_id="XS0000000002")]),
        REFERENCE,
    )
    for name in ("asset_class", "market", "counterparty_sector", "counterparty_country", "cross_border"):
        assert pa.types.is_dictionary(table.schema.field(name).type), name
    assert table.column("counterparty_country").to_pylist() == ["US", None]
    plain = features.decoded(table)
    assert not any(pa.types.is_dictionary(field.type) for field in plain.schema)
    assert plain.column("counterparty_country").to_pylist() == ["US", None]
    assert plain.column("market").to_pylist() == ["XNYS", "XICSD"]
    assert plain.column("cross_border").to_pylist() == ["domestic", "cross_border"]
    assert plain.to_pylist() == table.to_pylist()


def test_each_trade_gets_the_history_of_its_own_date_and_counterparty() -> None:
    """Several as-of dates (a training window) and counterparties: each (date, counterparty)
    finds its own row, whatever the order; a pair without history finds none."""
    day_1, day_2 = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
    reference = features.Reference(
        instruments=REFERENCE.instruments,
        counterparties=REFERENCE.counterparties,
        history=pa.table(
            {
                "as_of_date": pa.array([day_2, day_1, day_1], pa.date32()),
                "counterparty_id": ["CP1", "CP2", "CP1"],
                "attempts": [30.0, 20.0, 10.0],
                "fails": [3.0, 2.0, 1.0],
            }
        ),
    )
    as_of = pa.array([day_1, day_2, day_1, day_2, day_1], pa.date32())
    counterparty = pa.array(["CP1", "CP1", "CP2", "CP2", "CP9"])
    found = reference.history_positions(as_of, counterparty)
    assert found.to_pylist() == [2, 0, 1, None, None]
    assert reference.history.column("attempts").take(found).to_pylist() == [10.0, 30.0, 20.0, None, None]
