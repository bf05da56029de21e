"""Arrow columns from the generator's numpy arrays, and CSV byte streams for COPY and files.

Decimals are written as plain fixed-point strings (never exponents), dates as ISO dates,
timestamps as ISO timestamps in UTC; a null is an empty unquoted field, which is how
PostgreSQL's COPY ... (FORMAT csv) reads NULL.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

CSV_BATCH_ROWS = 100_000


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


def csv_chunks(table: pa.Table, batch_rows: int = CSV_BATCH_ROWS) -> Iterator[bytes]:
    """The table as CSV with a header, in chunks of ``batch_rows`` rows (bounded memory)."""
    if table.num_rows == 0:
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer)
        yield buffer.getvalue()
        return
    include_header = True
    for batch in table.to_batches(max_chunksize=batch_rows):
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=include_header))
        include_header = False
        yield buffer.getvalue()


def csv_bytes(table: pa.Table) -> bytes:
    return b"".join(csv_chunks(table))
