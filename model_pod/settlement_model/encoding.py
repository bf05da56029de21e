"""The model's feature matrix: categorical codes and numbers, fast enough for millions of rows.

scikit-learn's OrdinalEncoder compares Python strings, and a ColumnTransformer copies every
column on its way through: together they took most of a scoring shard's time. Here every
categorical value is looked up with Arrow's hash-based ``index_in`` (about ten times faster)
and the numeric columns are copied once. A category not seen in training, or a missing one,
becomes NaN, which the gradient-boosted trees treat as missing: scoring never fails on a new
desk or country.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from settlement_model.arrow_encoder import ArrowEncoder


class FeatureMatrix(TransformerMixin, BaseEstimator):
    """``categorical`` columns as codes (their position among the values seen in ``fit``),
    then ``numeric`` columns as float64; every other column of the input is ignored."""

    def __init__(self, categorical: tuple[str, ...] = (), numeric: tuple[str, ...] = ()) -> None:
        self.categorical = categorical
        self.numeric = numeric

    def fit(self, frame: Any, y: Any = None) -> FeatureMatrix:
        self.categories_ = [
            sorted(str(v) for v in frame[name].dropna().unique()) for name in self.categorical
        ]
        return self

    def transform(self, frame: Any) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        matrix = np.empty((len(frame), len(self.categorical) + len(self.numeric)), dtype="float64")
        for position, (name, categories) in enumerate(zip(self.categorical, self.categories_, strict=True)):
            values = pa.array(frame[name], type=pa.string(), from_pandas=True)
            found = pc.index_in(values, value_set=pa.array(categories, pa.string()))
            matrix[:, position] = found.to_numpy(zero_copy_only=False)  # nulls come out as NaN
        if self.numeric:
            matrix[:, len(self.categorical) :] = frame[list(self.numeric)].to_numpy(dtype="float64")
        return matrix

    def transform_arrow(self, table: Any) -> np.ndarray:
        """``transform`` of an Arrow table of feature columns (what features.model_frame would
        make of it, without the pandas round trip), column-major for the compiled trees."""
        return self.arrow_encoder().transform_arrow(table)

    def arrow_encoder(self) -> ArrowEncoder:
        """The fitted encoder as plain data (what the compiled model saves and the scoring job loads)."""
        return ArrowEncoder(
            tuple(self.categorical), tuple(tuple(values) for values in self.categories_), tuple(self.numeric)
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([*self.categorical, *self.numeric], dtype=object)
