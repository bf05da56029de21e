"""A query's rows as Arrow record batches: PostgreSQL's ``COPY (query) TO STDOUT (FORMAT csv)``
parsed by Arrow's CSV reader block by block, as the server sends them.

For reads of millions of rows into numeric work (the model's ground-truth report, the shadow
comparison): memory holds a few blocks whatever the row count, and no Python object is made per
row. 1.5 M rows of the shadow comparison's six columns: 6.5 s through a named cursor's tuples,
2.9 s this way (5 December 2026). PostgreSQL writes float8 in its shortest exact form, so the
values are the same doubles the binary protocol gives.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

DEFAULT_BLOCK_BYTES = 8 * 2**20


def copy_batches(
    cursor: Any,
    query: str,
    parameters: Mapping[str, Any],
    column_types: Mapping[str, str],
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Iterator[Any]:
    """The rows of ``query`` (an SQL file's text, with psycopg placeholders) as record batches of
    ``column_types`` (column name -> Arrow type alias, e.g. "float64"). COPY takes no server-side
    parameters: psycopg binds ``parameters`` client-side, quoting each value."""
    statement = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with cursor.copy(statement, parameters) as copy:
        yield from csv_batches(copy, column_types, block_bytes)


def csv_batches(
    chunks: Iterable[bytes], column_types: Mapping[str, str], block_bytes: int = DEFAULT_BLOCK_BYTES
) -> Iterator[Any]:
    """Record batches of PostgreSQL's CSV (a header line; booleans as t/f, NULL as an empty
    field), parsed a block at a time from the chunks as they arrive."""
    import pyarrow as pa
    from pyarrow import csv

    reader = csv.open_csv(
        io.BufferedReader(_ChunkStream(chunks), buffer_size=block_bytes),
        read_options=csv.ReadOptions(block_size=block_bytes),
        convert_options=csv.ConvertOptions(
            column_types={name: pa.type_for_alias(alias) for name, alias in column_types.items()},
            true_values=["t"],
            false_values=["f"],
        ),
    )
    yield from reader


class _ChunkStream(io.RawIOBase):
    """Byte chunks (a COPY TO STDOUT's data) as a readable binary stream, for Arrow's CSV reader."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(bytes(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
