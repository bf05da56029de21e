"""The fitted encoder as plain data: an Arrow table's feature columns as the trees' matrix.

What the compiled model saves (compiled.py) and the scoring job loads, and what the fitted
``encoding.FeatureMatrix`` gives (``arrow_encoder()``): a module of its own, since the compiled
model must load without scikit-learn and the encoding imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArrowEncoder:
    """The feature matrix of an Arrow table: each categorical column as its code (position
    among the categories seen in training, NaN when unknown or missing), then the numeric
    columns as float64 (NaN when missing). Column-major, for the compiled trees."""

    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    numeric: tuple[str, ...]

    def transform_arrow(self, table: Any) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        matrix = np.empty(
            (table.num_rows, len(self.categorical) + len(self.numeric)), dtype="float64", order="F"
        )
        for position, (name, categories) in enumerate(zip(self.categorical, self.categories, strict=True)):
            found = _codes(table.column(name), pa.array(categories, pa.string()))
            matrix[:, position] = found.to_numpy(zero_copy_only=False)  # nulls come out as NaN
        for position, name in enumerate(self.numeric, start=len(self.categorical)):
            column = pc.cast(table.column(name), pa.float64())
            matrix[:, position] = column.to_numpy(zero_copy_only=False)  # nulls come out as NaN
        return matrix


def _codes(column: Any, categories: Any) -> Any:
    """Each value's position among ``categories`` (null when not among them or missing). A
    dictionary column's dictionary is looked up once, then its indices pick the codes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([_codes(chunk, categories) for chunk in column.chunks], pa.int32())
    if pa.types.is_dictionary(column.type):
        dictionary_codes = pc.index_in(pc.cast(column.dictionary, pa.string()), value_set=categories)
        return pc.take(dictionary_codes, column.indices)
    return pc.index_in(pc.cast(column, pa.string()), value_set=categories)
