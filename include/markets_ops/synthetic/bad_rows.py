"""Malformed rows the upstream systems sometimes send, injected into a day's files.

A bad row is an extra row, copied from a real one and broken in exactly one way, under a key
of its own (``<key>-B<n>``, or no key at all): the clean rows stay complete, so every other
piece of ground truth (fail probabilities, injected breaks) stays exact whether or not the
feed quarantines correctly. Each bad row is recorded with the rule it breaks; the rule names
are those of the feed's validation (include/markets_ops/feed/sources.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from include.markets_ops.synthetic import tables, timeline
from include.markets_ops.synthetic.random_streams import rng_for

Row = dict[str, Any]


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
    """Insert about ``rate`` x rows bad rows at random positions.

    Deterministic per (seed, date, source, rate): a rerun delivers the same file."""
    key_column, corruptions = CORRUPTIONS[source]
    rng = rng_for(seed, f"bad_rows:{source}", timeline.day_number(business_date), round(rate * 1e9))
    good = table.num_rows
    count = int(rng.binomial(good, rate)) if good and rate > 0 else 0
    rules = list(corruptions)
    chosen_rules = [rules[i % len(rules)] for i in rng.permutation(count)] if count else []
    sources = rng.integers(good, size=count) if count else np.array([], dtype=np.int64)
    bad: list[Row] = []
    keys: list[str | None] = []
    for number, (rule, position) in enumerate(zip(chosen_rules, sources, strict=True), start=1):
        row = table.slice(int(position), 1).to_pylist()[0]
        key = f"{row[key_column]}-B{number:04d}"
        row[key_column] = key
        corruptions[rule](row, key)
        bad.append(row)
        keys.append(row[key_column])
    insert_at = np.sort(rng.integers(good + 1, size=count)) if count else np.array([], dtype=np.int64)
    combined = _interleaved(table, pa.Table.from_pylist(bad, schema=table.schema), insert_at)
    lines = insert_at + np.arange(count) + 1  # 1-based data line of bad row 0, 1, ...
    record_keys = [key if key is not None else f"line:{line}" for key, line in zip(keys, lines, strict=True)]
    return Injected(
        table=combined,
        bad_rows=pa.table(
            {
                "business_date": tables.dates(np.full(count, timeline.day_number(business_date))),
                "source": tables.strings(np.full(count, source)),
                "record_key": tables.strings(record_keys),
                "rule": tables.strings(chosen_rules),
            }
        ),
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
