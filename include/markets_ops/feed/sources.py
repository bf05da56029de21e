"""The upstream sources the feed loads, each declared once: file layout, validation rules, merge.

A source's columns are declared here only, with their types in the typed work table, in the
file's order. The SQL is in files: include/sql/feed/<source>/ holds what is the source's own
(check.sql, the validation rules in order; check_text.sql, the text fallback's first rules; and
merge steps that are not a plain upsert), include/sql/feed/ the statements every source shares,
which name the source's columns by placeholder and get them from here (``Source.sql``):
land.sql + copy.sql (the typed work table), land_text.sql + copy_text.sql + typed_from_text.sql
(the fallback for unparseable values), copy_out.sql + copy_in.sql (the good rows into the
target) and merge.sql (the reference sources' upsert). So adding a column to a source is one
line in its ``column_types`` (docs/architecture.md shows it). The names here are the allow-list:
nothing from outside (a file name, a parameter) ever becomes an identifier, and each name and
type is checked when the module loads; values are always bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from include.markets_ops.services.sql_files import read_sql

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
TABLE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
WORK_TABLE_TYPE = re.compile(r"^(text|date|timestamptz|smallint|varchar\(\d+\)|numeric\(\d+, \d+\))$")
# Types whose text is taken as it is when the fallback casts the text work table into the typed
# one: an explicit cast would cut a value too long for a varchar, the insert refuses it.
CHARACTER_TYPES = ("text", "varchar")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Source:
    name: str
    target_table: str
    key_column: str
    # The file's header, in order: each column and its type in the typed work table (land.sql).
    column_types: Mapping[str, str]
    rules: tuple[str, ...]  # validation rules, in the order check.sql evaluates them
    # Run in order after the checks, in the same transaction: SQL files, or COPY_GOOD_ROWS
    # (copy_out.sql then copy_in.sql: the good rows into the target with COPY).
    merge_steps: tuple[str, ...]
    daily: bool  # True: a file per business date, whose rows carry that date
    # When COPY_GOOD_ROWS meets a key already in the target (a rerun): the merge to run instead.
    on_existing_keys: str | None = None
    # Columns the source's own merge.sql sets itself (left out of the columns it updates).
    merged_apart: tuple[str, ...] = ()
    # Checks run after check.sql, each adding the rows it rejects that no earlier rule did.
    extra_checks: tuple[str, ...] = ()
    # A file is first copied straight into the target and checked there (loader._copy_straight):
    # for a daily source whose file is the date's whole set of rows in the target (the steps
    # before COPY_GOOD_ROWS replace the date's rows, or the date has none yet), and whose
    # target's column types are its work table's, or varchar where the work table has text: a
    # value the target refuses sends the file through the work table, and so does a value
    # ending in a space, which varchar(n) would cut to n instead of refusing.
    copied_straight: bool = False

    def __post_init__(self) -> None:
        names = [self.name, self.key_column, *self.column_types, *self.merged_apart]
        bad = [name for name in names if not IDENTIFIER.match(name)]
        bad += [t for t in self.column_types.values() if not WORK_TABLE_TYPE.match(t)]
        if bad or not TABLE.match(self.target_table) or self.key_column not in self.column_types:
            raise ValueError(f"source {self.name!r}: not a name, type or key this feed accepts: {bad}")
        if self.copied_straight and not (self.daily and COPY_GOOD_ROWS in self.merge_steps):
            raise ValueError(
                f"source {self.name!r}: only a daily source copied in by COPY_GOOD_ROWS is copied straight"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's header, in order."""
        return tuple(self.column_types)

    def sql(self, step: str) -> str:
        """The statement ``step`` of this source: its own file (include/sql/feed/<source>/<step>),
        else the statement every source shares (include/sql/feed/<step>), with the source's
        columns where it names them (``{columns}``, ...: ``fragments``)."""
        try:
            text = read_sql(f"feed/{self.name}/{step}")
        except FileNotFoundError:
            text = read_sql(f"feed/{step}")
        fragments = self.fragments()
        return PLACEHOLDER.sub(lambda match: fragments.get(match.group(1), match.group(0)), text)

    def fragments(self) -> dict[str, str]:
        """The source's column lists as the shared statements name them."""
        names = self.columns
        updated = [c for c in names if c != self.key_column and c not in self.merged_apart]
        return {
            "target": self.target_table,
            "key": self.key_column,
            "columns": ", ".join(names),
            "landed_columns": ", ".join(f"l.{c}" for c in names),
            "typed_columns": ",\n    ".join(f"{c} {t}" for c, t in self.column_types.items()),
            "text_columns": ",\n    ".join(f"{c} text" for c in names),
            "text_as_typed": ", ".join(_from_text(c, t) for c, t in self.column_types.items()),
            "target_as_landed": ",\n    ".join(f"t.{c}::{t} AS {c}" for c, t in self.column_types.items()),
            "updated_columns": ", ".join(updated),
            "target_updated_columns": ", ".join(f"t.{c}" for c in updated),
            "excluded_updated_columns": ", ".join(f"excluded.{c}" for c in updated),
        }


def _from_text(column: str, work_table_type: str) -> str:
    base = work_table_type.split("(", maxsplit=1)[0]
    return f"t.{column}" if base in CHARACTER_TYPES else f"t.{column}::{base}"


COPY_GOOD_ROWS = "copy_good_rows"


def _merge(*steps: str) -> tuple[str, ...]:
    return tuple(step if step == COPY_GOOD_ROWS else f"{step}.sql" for step in steps)


TRADES = Source(
    name="trades",
    target_table="ops.trades",
    key_column="trade_id",
    column_types={
        "trade_id": "varchar(24)",
        "business_date": "date",
        "trade_date": "date",
        "settle_date": "date",
        "desk": "varchar(32)",
        "book": "varchar(32)",
        "instrument_id": "text",
        "side": "text",
        "quantity": "numeric(20, 4)",
        "price": "numeric(20, 8)",
        "notional": "numeric(22, 2)",
        "currency": "text",
        "counterparty_id": "text",
        "settlement_location": "varchar(16)",
        "ssi_status": "text",
        "booked_at": "timestamptz",
        "confirmed_at": "timestamptz",
        "allocated_at": "timestamptz",
        "status": "text",
    },
    rules=(
        "trade_id_missing",
        "trade_id_duplicated",
        "malformed_value",
        "business_date_mismatch",
        "quantity_not_positive",
        "price_not_positive",
        "currency_unknown",
        "counterparty_unknown",
        "instrument_unknown",
        "settle_date_before_trade_date",
        "settlement_cycle_too_long",
        "trade_date_after_business_date",
        "value_not_allowed",
    ),
    merge_steps=_merge(COPY_GOOD_ROWS),
    on_existing_keys="merge.sql",  # its own upsert, keyed by trade_id: the status is not the file's
    daily=True,
    copied_straight=True,
    merged_apart=("status",),
)

CUSTODIAN_CONFIRMATIONS = Source(
    name="custodian_confirmations",
    target_table="ops.custodian_confirmations",
    key_column="trade_ref",
    column_types={
        "business_date": "date",
        "trade_ref": "varchar(24)",
        "custodian": "varchar(24)",
        "instrument_id": "varchar(12)",
        "side": "text",
        "quantity": "numeric(20, 4)",
        "price": "numeric(20, 8)",
        "settle_date": "date",
        "counterparty_id": "text",
        "settlement_location": "varchar(16)",
        "received_at": "timestamptz",
    },
    rules=(
        "trade_ref_missing",
        "trade_ref_duplicated",
        "malformed_value",
        "business_date_mismatch",
        "quantity_not_positive",
        "price_not_positive",
        "counterparty_unknown",
        "value_not_allowed",
    ),
    merge_steps=_merge("delete_day", COPY_GOOD_ROWS),
    daily=True,
    copied_straight=True,
)

SETTLEMENT_OUTCOMES = Source(
    name="settlement_outcomes",
    target_table="ops.settlement_outcomes",
    key_column="trade_id",
    column_types={
        "trade_id": "varchar(24)",
        "business_date": "date",
        "outcome": "text",
        "settled_date": "date",
        "days_late": "smallint",
        "fail_reason": "varchar(32)",
    },
    rules=(
        "trade_id_missing",
        "trade_id_duplicated",
        "malformed_value",
        "business_date_mismatch",
        "trade_unknown",
        "value_not_allowed",
        "outcome_inconsistent",
        "failed_after_settlement",
    ),
    merge_steps=_merge(
        "delete_day",
        COPY_GOOD_ROWS,
        "find_later_events",
        "refresh_loaded_status",
        "refresh_other_status",
        "delete_counterparty_days",
        "insert_counterparty_days",
    ),
    daily=True,
    copied_straight=True,
)

CURRENCIES = Source(
    name="currencies",
    target_table="ops.currencies",
    key_column="currency_code",
    column_types={
        "currency_code": "text",
        "name": "varchar(64)",
        "minor_units": "smallint",
        "usd_rate": "numeric(18, 8)",
    },
    rules=("currency_code_missing", "currency_code_duplicated", "malformed_value"),
    merge_steps=_merge("merge"),
    daily=False,
)

COUNTERPARTIES = Source(
    name="counterparties",
    target_table="ops.counterparties",
    key_column="counterparty_id",
    column_types={
        "counterparty_id": "varchar(16)",
        "legal_name": "varchar(128)",
        "lei": "text",
        "country_code": "text",
        "sector": "varchar(32)",
    },
    rules=("counterparty_id_missing", "counterparty_id_duplicated", "malformed_value"),
    merge_steps=_merge("merge"),
    daily=False,
)

INSTRUMENTS = Source(
    name="instruments",
    target_table="ops.instruments",
    key_column="instrument_id",
    column_types={
        "instrument_id": "text",
        "description": "varchar(128)",
        "asset_class": "text",
        "market": "varchar(8)",
        "currency": "text",
        "settlement_location": "varchar(16)",
        "settlement_cycle_days": "smallint",
        "liquidity_tier": "smallint",
    },
    rules=(
        "instrument_id_missing",
        "instrument_id_duplicated",
        "malformed_value",
        "currency_unknown",
        "value_not_allowed",
    ),
    merge_steps=_merge("merge"),
    daily=False,
)

# One custodian's part of the statement (statements/loading.py): the same columns, rules and
# SQL files, plus a check that every row is that custodian's (check_custodian.sql, bound
# ``custodian``); the load replaces that custodian's rows of the date only.
CUSTODIAN_STATEMENT = replace(
    CUSTODIAN_CONFIRMATIONS,
    rules=(*CUSTODIAN_CONFIRMATIONS.rules, "custodian_mismatch"),
    extra_checks=("check_custodian.sql",),
    merge_steps=_merge("delete_custodian_day", COPY_GOOD_ROWS),
    # The date keeps the other custodians' rows: the date's rows after a COPY are not only the
    # file's (and a row of another custodian would be copied, not rejected).
    copied_straight=False,
)

SETTLEMENT_INSTRUCTIONS = Source(
    name="settlement_instructions",
    target_table="ops.settlement_instructions",
    key_column="ssi_id",
    column_types={
        "ssi_id": "varchar(24)",
        "counterparty_id": "text",
        "settlement_location": "varchar(16)",
        "currency": "text",
        "custodian_bic": "text",
        "safekeeping_account": "varchar(34)",
        "valid_from": "date",
        "valid_to": "date",
    },
    rules=(
        "ssi_id_missing",
        "ssi_id_duplicated",
        "malformed_value",
        "counterparty_unknown",
        "currency_unknown",
    ),
    merge_steps=_merge("merge"),
    daily=False,
)

# Load order matters: reference data first (the daily checks look keys up in it), trades
# before the outcomes that reference them.
REFERENCE_SOURCES: tuple[Source, ...] = (CURRENCIES, COUNTERPARTIES, INSTRUMENTS, SETTLEMENT_INSTRUCTIONS)
DAILY_SOURCES: tuple[Source, ...] = (TRADES, CUSTODIAN_CONFIRMATIONS, SETTLEMENT_OUTCOMES)
SOURCES: dict[str, Source] = {source.name: source for source in REFERENCE_SOURCES + DAILY_SOURCES}


def source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]
