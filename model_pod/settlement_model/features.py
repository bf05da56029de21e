"""The model's inputs: which columns, their types, and the point-in-time SQL that computes them.

Scoring and training read the same SQL (sql/features.sql), so a feature means the same thing
in both; training adds the label (sql/training_set.sql). The column lists here are the
model's input schema: the MLflow signature of a trained model is checked against them
before scoring.
"""

from __future__ import annotations

from functools import cache
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


@cache
def read_sql(name: str) -> str:
    if name not in ("features.sql", "training_set.sql"):
        raise ValueError(f"unknown SQL file {name!r}")
    return files("settlement_model").joinpath("sql", name).read_text()


def features_sql() -> str:
    return read_sql("features.sql")


def training_set_sql() -> str:
    """training_set.sql with features.sql inlined at its marker (both static texts)."""
    return read_sql("training_set.sql").replace("/* features.sql */", read_sql("features.sql"))


def feature_parameters(as_of_dates: list[Any], shard_index: int = 0, shard_count: int = 1) -> dict[str, str]:
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise ValueError(f"shard {shard_index} of {shard_count} is not a valid shard")
    if not as_of_dates:
        raise ValueError("at least one as-of date is needed")
    return {
        "settlement_model.as_of_dates": "{" + ",".join(str(d) for d in as_of_dates) + "}",
        "settlement_model.shard_index": str(shard_index),
        "settlement_model.shard_count": str(shard_count),
    }


def model_input(table: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """The model's input frame from an Arrow batch of feature rows."""
    return model_frame(table.select(list(FEATURES)).to_pandas())


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
