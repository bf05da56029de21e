"""Malformed rows the upstream systems sometimes send, injected into a day's files.

A bad row is an extra row, copied from a real one and broken in exactly one way, under a key
of its own (``<key>-B<n>``, or no key at all): the clean rows stay complete, so every other
piece of ground truth (fail probabilities, injected breaks) stays exact whether or not the
feed quarantines correctly. Each bad row is recorded with the rule it breaks; the rule names
are those of the feed's validation (include/markets_ops/feed/sources.py).

A file is corrupted in chunks of CHUNK_ROWS rows as its rows arrive (``FileCorrupter``), each
chunk with its own draws, so a file of any size is written holding one chunk. Chunk 0 draws
from the file's original stream: a file of at most CHUNK_ROWS rows gets the bad rows it got
before files were chunked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from include.markets_ops.synthetic import tables, timeline
from include.markets_ops.synthetic.random_streams import rng_for

Row = dict[str, Any]
CHUNK_ROWS = 1 << 17


def _null(field: str) -> Callable[[Row, str], None]:
    def corrupt(row: Row, key: str) -> None:
        row[field] = None

    return corrupt


def _non_positive_quantity(row: Row, key: str) -> None:
    row["quantity"] = "0.0000" if key.endswith(("0", "2", "4", "6", "8")) else "-" + row["quantity"]


def _unknown(field: str, value: str) -> Callable[[Row, str], None]:
    def corrupt(row: Row, key: str) -> None:
        row[field] = value

    return corrupt


def _settle_before_trade(row: Row, key: str) -> None:
    row["settle_date"] = row["trade_date"] - dt.timedelta(days=3)


# source -> (key column, {rule: how a copied row is broken})
CORRUPTIONS: dict[str, tuple[str, dict[str, Callable[[Row, str], None]]]] = {
    "trades": (
        "trade_id",
        {
            "trade_id_missing": _null("trade_id"),
            "quantity_not_positive": _non_positive_quantity,
            "currency_unknown": _unknown("currency", "ZZZ"),
            "counterparty_unknown": _unknown("counterparty_id", "CP99999"),
            "settle_date_before_trade_date": _settle_before_trade,
        },
    ),
    "custodian_confirmations": (
        "trade_ref",
        {
            "trade_ref_missing": _null("trade_ref"),
            "quantity_not_positive": _non_positive_quantity,
            "counterparty_unknown": _unknown("counterparty_id", "CP99999"),
        },
    ),
    "settlement_outcomes": (
        "trade_id",
        {
            "trade_id_missing": _null("trade_id"),
            "trade_unknown": lambda row, key: None,  # its new key names no booked trade
        },
    ),
}


@dataclass(frozen=True)
class Injected:
    table: pa.Table  # the file's rows, bad ones interleaved
    bad_rows: pa.Table  # business_date, source, record_key, rule


def inject(seed: int, business_date: dt.date, source: str, table: pa.Table, rate: float) -> Injected:
    """Insert about ``rate`` x rows bad rows at random positions of a whole file.

    Deterministic per (seed, date, source, rate): a rerun delivers the same file."""
    corrupter = FileCorrupter(seed, business_date, source, rate)
    pieces = [*corrupter.feed(table), *corrupter.finish()]
    return Injected(table=pa.concat_tables(pieces), bad_rows=corrupter.bad_rows())


class FileCorrupter:
    """A file's bad rows, injected as its good rows arrive: ``feed`` and then ``finish`` give the
    file's rows (bad ones interleaved) in chunks; ``bad_rows`` records them all."""

    def __init__(self, seed: int, business_date: dt.date, source: str, rate: float) -> None:
        self.seed, self.business_date, self.source, self.rate = seed, business_date, source, rate
        self._waiting: list[pa.Table] = []
        self._waiting_rows = 0
        self._chunks = 0
        self._lines = 0  # data lines given out so far, bad ones included
        self._bad: list[pa.Table] = []
        self._bad_count = 0

    def feed(self, rows: pa.Table) -> Iterator[pa.Table]:
        self._waiting.append(rows)
        self._waiting_rows += rows.num_rows
        while self._waiting_rows >= CHUNK_ROWS:
            yield self._next_chunk(CHUNK_ROWS)

    def finish(self) -> Iterator[pa.Table]:
        """The rows still waiting (the file's only chunk, even if empty, when it is small)."""
        if self._waiting_rows or not self._chunks:
            yield self._next_chunk(self._waiting_rows)

    def bad_rows(self) -> pa.Table:
        return (
            pa.concat_tables(self._bad)
            if self._bad
            else _bad_rows_table(self.business_date, self.source, [], [])
        )

    def _next_chunk(self, size: int) -> pa.Table:
        waiting = pa.concat_tables(self._waiting)
        chunk, rest = waiting.slice(0, size), waiting.slice(size)
        self._waiting, self._waiting_rows = [rest], rest.num_rows
        combined, bad = self._corrupted(chunk)
        self._chunks += 1
        self._lines += combined.num_rows
        self._bad.append(bad)
        self._bad_count += bad.num_rows
        return combined

    def _corrupted(self, table: pa.Table) -> tuple[pa.Table, pa.Table]:
        key_column, corruptions = CORRUPTIONS[self.source]
        chunk_keys = (self._chunks,) if self._chunks else ()
        rng = rng_for(
            self.seed,
            f"bad_rows:{self.source}",
            timeline.day_number(self.business_date),
            round(self.rate * 1e9),
            *chunk_keys,
        )
        good = table.num_rows
        count = int(rng.binomial(good, self.rate)) if good and self.rate > 0 else 0
        rules = list(corruptions)
        chosen_rules = [rules[i % len(rules)] for i in rng.permutation(count)] if count else []
        sources = rng.integers(good, size=count) if count else np.array([], dtype=np.int64)
        bad: list[Row] = []
        keys: list[str | None] = []
        numbered = enumerate(zip(chosen_rules, sources, strict=True), start=self._bad_count + 1)
        for number, (rule, position) in numbered:
            row = table.slice(int(position), 1).to_pylist()[0]
            key = f"{row[key_column]}-B{number:04d}"
            row[key_column] = key
            corruptions[rule](row, key)
            bad.append(row)
            keys.append(row[key_column])
        insert_at = np.sort(rng.integers(good + 1, size=count)) if count else np.array([], dtype=np.int64)
        combined = _interleaved(table, pa.Table.from_pylist(bad, schema=table.schema), insert_at)
        lines = self._lines + insert_at + np.arange(count) + 1  # the file's 1-based data line of each
        record_keys = [
            key if key is not None else f"line:{line}" for key, line in zip(keys, lines, strict=True)
        ]
        return combined, _bad_rows_table(self.business_date, self.source, record_keys, chosen_rules)


def _bad_rows_table(
    business_date: dt.date, source: str, record_keys: list[str], rules: list[str]
) -> pa.Table:
    count = len(record_keys)
    return pa.table(
        {
            "business_date": tables.dates(np.full(count, timeline.day_number(business_date))),
            "source": tables.strings(np.full(count, source)),
            "record_key": tables.strings(record_keys),
            "rule": tables.strings(rules),
        }
    )


def _interleaved(table: pa.Table, bad: pa.Table, insert_at: np.ndarray) -> pa.Table:
    """``table`` with bad row j inserted before its row ``insert_at[j]`` (sorted): slices of both,
    chained without copying (a day's file is not held twice)."""
    if not bad.num_rows:
        return table
    pieces, start = [], 0
    for number, position in enumerate(insert_at.tolist()):
        pieces += [table.slice(start, position - start), bad.slice(number, 1)]
        start = position
    pieces.append(table.slice(start))
    return pa.concat_tables(pieces)
