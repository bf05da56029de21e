"""The model's inputs: which columns, their types, and how they are computed point in time.

Rows come from one streamed scan of ops.trades (sql/pending_trades.sql: every trade pending
at the end of an as-of date D); the reference data and the counterparties' settlement
history up to D are small (sql/instruments.sql, counterparties.sql, counterparty_history.sql)
and are joined here, in Arrow and numpy, batch by batch. Scoring and training go through the
same ``feature_table``, so a feature means the same thing in both; training adds the label
(sql/training_set.sql). The column lists here are the model's input schema: the MLflow
signature of a trained model is checked against them before scoring.

Only what was known at the end of D is used: the trade as booked, its confirmation and
allocation timestamps before the end of D, the outcomes reported on or before D, the calendar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Categorical features: strings, encoded inside the model pipeline (unknown values allowed).
CATEGORICAL = (
    "asset_class",
    "market",
    "settlement_location",
    "currency",
    "side",
    "desk",
    "ssi_status",
    "counterparty_sector",
    "counterparty_country",
    "cross_border",
)
# Numeric features: float64, NaN where unknown at the as-of date.
NUMERIC = (
    "liquidity_tier",
    "settlement_cycle_days",
    "log_notional",
    "days_to_settle",
    "settle_calendar_days",
    "booking_delay_days",
    "holidays_in_settlement_window",
    "confirmed_on_booking_day",
    "allocated_on_booking_day",
    "confirmation_hours",
    "allocation_hours",
    "counterparty_attempts_90d",
    "counterparty_fail_rate_90d",
)
FEATURES = CATEGORICAL + NUMERIC
# Carried next to the features, never fed to the model.
IDENTIFIERS = ("as_of_date", "trade_id", "counterparty_id", "instrument_id", "settle_date")
LABEL = "failed"
# A counterparty's fail rate is smoothed towards a 3% prior worth 30 attempts, so one with
# little history is neither 0% nor 100%.
PRIOR_FAIL_RATE = 0.03
PRIOR_ATTEMPTS = 30.0
# Payment-versus-payment settlement (CLS) has no cross-border leg.
PVP_LOCATIONS = ("CLS",)
# The values of the cross_border feature.
CROSS_BORDER = ("pvp", "domestic", "cross_border")

# MLflow signature types of the features (mlflow.types.DataType names).
SIGNATURE_TYPES: dict[str, str] = {
    **dict.fromkeys(CATEGORICAL, "string"),
    **dict.fromkeys(NUMERIC, "double"),
}

# The session settings the SQL reads (set with set_config, one bind parameter each).
SQL_PARAMETERS = (
    "settlement_model.as_of_dates",
    "settlement_model.shard_index",
    "settlement_model.shard_count",
    "settlement_model.labels_known_by",
)


SQL_FILES = (
    "pending_trades.sql",
    "training_set.sql",
    "instruments.sql",
    "counterparties.sql",
    "counterparty_history.sql",
    "delete_shard_slice.sql",
    "store_lineage_event.sql",
)


@cache
def read_sql(name: str) -> str:
    if name not in SQL_FILES:
        raise ValueError(f"unknown SQL file {name!r}")
    return files("settlement_model").joinpath("sql", name).read_text()


PENDING_TRADES_ORDER = 'ORDER BY t.business_date, t.trade_id COLLATE "C"'


# In pending_trades.sql, the search for each trade's as-of dates is between these markers.
_AS_OF_DATES_SEARCH = re.compile(
    r"/\* each trade's as-of dates \*/.*/\* end of each trade's as-of dates \*/", re.DOTALL
)
# With one as-of date, every trade the query's WHERE clause keeps (booked in the 31 days up to
# the date, settling after it) is pending on it: the date itself, read once per query, replaces
# the search, a set-returning function evaluated for every trade (two fifths of the read's
# execution time at 373k pending trades; make bench's scoring job reads a million).
_THE_ONE_AS_OF_DATE = "(SELECT (current_setting('settlement_model.as_of_dates')::date[])[1])"


def pending_trades_sql(*, one_as_of_date: bool = False) -> str:
    """pending_trades.sql; ``one_as_of_date`` when its parameters hold a single date (scoring)."""
    sql = read_sql("pending_trades.sql")
    if not one_as_of_date:
        return sql
    one_date_sql, replaced = _AS_OF_DATES_SEARCH.subn(_THE_ONE_AS_OF_DATE, sql)
    if replaced != 1:
        raise ValueError("pending_trades.sql has lost its as-of dates markers")
    return one_date_sql


def training_set_sql() -> str:
    """training_set.sql with pending_trades.sql inlined at its marker (both static texts), without
    the pending trades' final ORDER BY: the training set orders its rows itself (by as-of date),
    and sorting every row of a window by another key first would be wasted, on disk at volume."""
    pending = read_sql("pending_trades.sql")
    unordered, _ = pending.rsplit(PENDING_TRADES_ORDER, 1)
    return read_sql("training_set.sql").replace("/* pending_trades.sql */", unordered)


def feature_parameters(as_of_dates: list[Any], shard_index: int = 0, shard_count: int = 1) -> dict[str, str]:
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise ValueError(f"shard {shard_index} of {shard_count} is not a valid shard")
    if not as_of_dates:
        raise ValueError("at least one as-of date is needed")
    return {
        # Sorted: the SQL reads the first and last elements as the dates' window.
        "settlement_model.as_of_dates": "{" + ",".join(str(d) for d in sorted(as_of_dates)) + "}",
        "settlement_model.shard_index": str(shard_index),
        "settlement_model.shard_count": str(shard_count),
    }


@dataclass(frozen=True)
class Reference:
    """The small tables the trades are joined with, read once per job."""

    instruments: pa.Table
    counterparties: pa.Table
    history: pa.Table  # (as_of_date, counterparty_id) -> attempts, fails over 90 days

    @classmethod
    def read(cls, fetch: Any) -> Reference:
        """``fetch(sql) -> pa.Table`` runs a query in the session whose parameters are set."""
        return cls(
            instruments=fetch(read_sql("instruments.sql")),
            counterparties=fetch(read_sql("counterparties.sql")),
            history=fetch(read_sql("counterparty_history.sql")),
        )

    def history_positions(self, as_of: Any, counterparty: Any) -> Any:
        """The history's row of each (as-of date, counterparty) pair; null where there is none."""
        counterparties, keys = self._history_keys
        return _positions(_history_key(as_of, counterparty, counterparties), keys)

    def domestic(self, instrument: Any, counterparty: Any) -> Any:
        """Whether each trade's counterparty is in its instrument's country (the instrument id's
        first two letters), from their rows here (``instrument``, ``counterparty``: positions,
        null when unknown: not domestic). Compared as positions in one list of countries, made
        once per job: no string of a million trades is cut or compared."""
        instrument_country, counterparty_country = self._country_positions
        return instrument_country[_filled(instrument, -1)] == counterparty_country[_filled(counterparty, -1)]

    @cached_property
    def _country_positions(self) -> tuple[Any, Any]:
        """Each instrument's and each counterparty's country as a position among the
        counterparties' countries, then one more entry for an unknown row; -1 for an instrument
        and -2 for a counterparty whose country is unknown, so that they never match."""
        import numpy as np
        import pyarrow.compute as pc

        countries = pc.unique(self.counterparties.column("country_code").combine_chunks().drop_null())
        prefixes = pc.utf8_slice_codeunits(self.instruments.column("instrument_id"), 0, 2)

        def positions(values: Any, unknown: int) -> Any:
            found = pc.fill_null(pc.index_in(values, value_set=countries), unknown).to_numpy()
            return np.append(np.asarray(found, dtype=np.int64), unknown)

        return positions(prefixes, -1), positions(self.counterparties.column("country_code"), -2)

    @cached_property
    def _history_keys(self) -> tuple[pa.Array, pa.Array]:
        """The history's counterparties (their positions make the key) and each row's key."""
        import pyarrow.compute as pc

        as_of, counterparty = self.history.column("as_of_date"), self.history.column("counterparty_id")
        counterparties = pc.unique(counterparty.combine_chunks())
        return counterparties, _history_key(as_of, counterparty, counterparties)


def _history_key(as_of: Any, counterparty: Any, counterparties: pa.Array) -> Any:
    """(as-of date in days) * (len(counterparties) + 1) + the counterparty's position among
    ``counterparties``, null for another counterparty. An integer: a million trades are looked
    up by it in 0.08-0.10 s, against 0.14-0.27 s for a "date|counterparty" string (formatting
    the dates, building the strings, hashing them; one date, 200 counterparties)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    position = pc.cast(pc.index_in(pc.cast(counterparty, pa.string()), value_set=counterparties), pa.int64())
    days = pc.cast(pc.cast(as_of, pa.date32()), pa.int32())
    return pc.add(pc.multiply(pc.cast(days, pa.int64()), len(counterparties) + 1), position)


def _positions(keys: Any, values: Any) -> Any:
    """The position in ``values`` of each of ``keys`` (null where none matches): a row number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    positions = pc.index_in(keys, value_set=values)
    return positions.combine_chunks() if isinstance(positions, pa.ChunkedArray) else positions


def _looked_up(table: pa.Table, positions: Any, column: str) -> Any:
    """``table``'s ``column`` at ``positions`` (null where a position is). A string column comes
    as a dictionary of the reference's own values: a million trades share a few thousand
    instruments' values, which are neither copied per trade nor hashed again per trade when the
    model encodes them (encoding the dictionary is enough)."""
    import pyarrow as pa

    values = table.column(column).combine_chunks()
    if pa.types.is_string(values.type):
        return pa.DictionaryArray.from_arrays(positions, values)
    return values.take(positions)


def _filled(positions: Any, unknown: int) -> Any:
    """Positions as a numpy index, ``unknown`` where null."""
    import numpy as np
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(positions, unknown).to_numpy(zero_copy_only=False), dtype=np.intp)


def _days(values: Any) -> Any:
    import numpy as np

    return np.asarray(values.to_numpy(zero_copy_only=False), dtype="datetime64[D]")


def _instants(values: Any) -> Any:
    import numpy as np

    return np.asarray(values.to_numpy(zero_copy_only=False), dtype="datetime64[us]")


def feature_table(rows: pa.RecordBatch | pa.Table, reference: Reference) -> pa.Table:
    """The identifiers and features of a batch of pending-trade rows (pending_trades.sql). The
    categorical features from the reference data are dictionary columns of its values."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    instruments, counterparties = reference.instruments, reference.counterparties
    instrument = _positions(rows.column("instrument_id"), instruments.column("instrument_id"))
    counterparty = _positions(rows.column("counterparty_id"), counterparties.column("counterparty_id"))
    history = reference.history_positions(rows.column("as_of_date"), rows.column("counterparty_id"))
    as_of, booked_on = _days(rows.column("as_of_date")), _days(rows.column("business_date"))
    trade_date, settle = _days(rows.column("trade_date")), _days(rows.column("settle_date"))
    end_of_booking_day = (booked_on + 1).astype("datetime64[us]")
    end_of_as_of = (as_of + 1).astype("datetime64[us]")
    booked_at = _instants(rows.column("booked_at"))

    def known_by(column: str, end: Any) -> tuple[Any, Any]:
        """(happened before ``end``, hours after booking if so, else NaN)."""
        at = _instants(rows.column(column))
        happened = ~np.isnat(at) & (at < end)
        hours = np.where(at < end_of_as_of, (at - booked_at) / np.timedelta64(1, "h"), np.nan)
        return happened.astype("float64"), hours

    def numbers(table: pa.Table, positions: Any, column: str) -> Any:
        return np.asarray(_looked_up(table, positions, column).to_numpy(zero_copy_only=False), "float64")

    confirmed, confirmation_hours = known_by("confirmed_at", end_of_booking_day)
    allocated, allocation_hours = known_by("allocated_at", end_of_booking_day)
    cycle = numbers(instruments, instrument, "settlement_cycle_days")
    # Weekdays strictly between trade and settle date beyond cycle - 1 are market holidays.
    weekdays_between = np.busday_count(trade_date + 1, settle)
    attempts = np.nan_to_num(numbers(reference.history, history, "attempts"))
    fails = np.nan_to_num(numbers(reference.history, history, "fails"))
    pvp = pc.is_in(rows.column("settlement_location"), value_set=pa.array(PVP_LOCATIONS)).to_numpy(
        zero_copy_only=False
    )
    # 0 = pvp, 1 = domestic, 2 = cross_border: positions in CROSS_BORDER.
    domestic = reference.domestic(instrument, counterparty)
    cross_border = np.where(pvp, 0, np.where(domestic, 1, 2)).astype(np.int8)
    notional = np.asarray(rows.column("notional").to_numpy(zero_copy_only=False), "float64")
    columns: dict[str, Any] = {
        "as_of_date": rows.column("as_of_date"),
        "trade_id": rows.column("trade_id"),
        "counterparty_id": rows.column("counterparty_id"),
        "instrument_id": rows.column("instrument_id"),
        "settle_date": rows.column("settle_date"),
        "asset_class": _looked_up(instruments, instrument, "asset_class"),
        "market": _looked_up(instruments, instrument, "market"),
        "settlement_location": rows.column("settlement_location"),
        "currency": rows.column("currency"),
        "side": rows.column("side"),
        "desk": rows.column("desk"),
        "ssi_status": rows.column("ssi_status"),
        "counterparty_sector": _looked_up(counterparties, counterparty, "sector"),
        "counterparty_country": _looked_up(counterparties, counterparty, "country_code"),
        "cross_border": pa.DictionaryArray.from_arrays(pa.array(cross_border), pa.array(CROSS_BORDER)),
        "liquidity_tier": numbers(instruments, instrument, "liquidity_tier"),
        "settlement_cycle_days": cycle,
        "log_notional": np.log(np.maximum(notional, 1.0)),
        "days_to_settle": (settle - as_of).astype("float64"),
        "settle_calendar_days": (settle - trade_date).astype("float64"),
        "booking_delay_days": (booked_on - trade_date).astype("float64"),
        "holidays_in_settlement_window": np.maximum(weekdays_between - (cycle - 1), 0).astype("float64"),
        "confirmed_on_booking_day": confirmed,
        "allocated_on_booking_day": allocated,
        "confirmation_hours": confirmation_hours,
        "allocation_hours": allocation_hours,
        "counterparty_attempts_90d": attempts,
        "counterparty_fail_rate_90d": (fails + PRIOR_FAIL_RATE * PRIOR_ATTEMPTS)
        / (attempts + PRIOR_ATTEMPTS),
    }
    if LABEL in rows.schema.names:
        columns[LABEL] = rows.column(LABEL)
    return pa.table({name: _arrow(value) for name, value in columns.items()})


def _arrow(value: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    if isinstance(value, np.ndarray):
        return pa.array(value)
    return value


def model_input(table: pa.Table) -> pd.DataFrame:
    """The model's input frame from an Arrow batch of feature rows."""
    return model_frame(decoded(table.select(list(FEATURES))).to_pandas())


def decoded(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary columns as plain strings: what the training snapshots hold
    and the pandas frames take (missing values stay missing, as in a string column)."""
    import pyarrow as pa

    for position, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            plain = table.column(position).cast(field.type.value_type)
            table = table.set_column(position, field.name, plain)
    return table


def model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input, in the signature's column order: categoricals as pandas strings
    (missing = NaN), numerics as float64. Training, evaluation and scoring all go through here."""
    import pandas as pd

    columns: dict[str, pd.Series] = {name: frame[name].astype("str") for name in CATEGORICAL}
    columns.update({name: frame[name].astype("float64") for name in NUMERIC})
    return pd.DataFrame(columns).reset_index(drop=True)


def signature_problems(signature_inputs: dict[str, str]) -> list[str]:
    """What differs between a model's input schema ({column: type}) and these features."""
    problems = []
    missing = [name for name in FEATURES if name not in signature_inputs]
    extra = [name for name in signature_inputs if name not in SIGNATURE_TYPES]
    if missing:
        problems.append(f"features the model does not take: {', '.join(missing)}")
    if extra:
        problems.append(f"model inputs this job does not compute: {', '.join(extra)}")
    mismatched = [
        f"{name} (model: {signature_inputs[name]}, job: {SIGNATURE_TYPES[name]})"
        for name in FEATURES
        if name in signature_inputs and signature_inputs[name] != SIGNATURE_TYPES[name]
    ]
    if mismatched:
        problems.append(f"type mismatches: {', '.join(mismatched)}")
    return problems
