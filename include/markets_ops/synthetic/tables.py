"""Arrow columns from the generator's numpy arrays, in the forms the files and COPY need.

Decimals become plain fixed-point strings (never exponents), dates ISO dates, timestamps UTC
timestamps; the tables are written as CSV by feed/landing.py (``csv_chunks``), in the landing
files' format.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def decimals(units: np.ndarray, scale: int) -> pa.Array:
    """Fixed-point strings of integers scaled by 10**scale: 123456 with scale 2 -> '1234.56'."""
    magnitude = np.abs(units.astype(np.int64))
    whole = pc.cast(pa.array(magnitude // 10**scale), pa.string())
    if scale == 0:
        text = whole
    else:
        fraction = pc.utf8_lpad(
            pc.cast(pa.array(magnitude % 10**scale), pa.string()), width=scale, padding="0"
        )
        text = pc.binary_join_element_wise(whole, fraction, ".")
    return pc.if_else(pa.array(units < 0), pc.binary_join_element_wise("-", text, ""), text)


def dates(day_numbers: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(day_numbers, dtype=np.int32), type=pa.date32())


def timestamps(microseconds: np.ndarray) -> pa.Array:
    """UTC timestamps from microseconds since 1970; negative values are nulls."""
    values = np.asarray(microseconds, dtype=np.int64)
    return pa.array(values, type=pa.timestamp("us", tz="UTC"), mask=values < 0)


def strings(values: np.ndarray | list[str]) -> pa.Array:
    return pa.array(np.asarray(values, dtype=str), type=pa.string())


def labels(names: np.ndarray | list[str] | tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """``names[codes]`` as an Arrow string column, taken from the few distinct names: a million
    rows in milliseconds, where converting a numpy array of a million strings takes ~0.3 s."""
    return pa.array(np.asarray(names, dtype=str), type=pa.string()).take(
        pa.array(np.asarray(codes, dtype=np.int64))
    )
