"""The upstream sources the feed loads: file layout, validation rules and the SQL of each.

Each source's SQL is in include/sql/feed/<source>/: land.sql + copy.sql (the typed work
table), land_text.sql + copy_text.sql + check_text.sql + typed_from_text.sql (the fallback
for unparseable values), check.sql (the validation rules, in order) and its merge steps.
The names here are the allow-list: nothing from outside (a file name, a parameter) ever
becomes an identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.markets_ops.services.sql_files import read_sql


@dataclass(frozen=True)
class Source:
    name: str
    target_table: str
    key_column: str
    columns: tuple[str, ...]  # the file's header, in order
    rules: tuple[str, ...]  # validation rules, in the order check.sql evaluates them
    # Run in order after the checks, in the same transaction: SQL files, or COPY_GOOD_ROWS
    # (copy_out.sql then copy_in.sql: the good rows into the target with COPY).
    merge_steps: tuple[str, ...]
    daily: bool  # True: a file per business date, whose rows carry that date
    # When COPY_GOOD_ROWS meets a key already in the target (a rerun): the merge to run instead.
    on_existing_keys: str | None = None

    def sql(self, step: str) -> str:
        return read_sql(f"feed/{self.name}/{step}")


COPY_GOOD_ROWS = "copy_good_rows"


def _merge(*steps: str) -> tuple[str, ...]:
    return tuple(step if step == COPY_GOOD_ROWS else f"{step}.sql" for step in steps)


TRADES = Source(
    name="trades",
    target_table="ops.trades",
    key_column="trade_id",
    columns=(
        "trade_id",
        "business_date",
        "trade_date",
        "settle_date",
        "desk",
        "book",
        "instrument_id",
        "side",
        "quantity",
        "price",
        "notional",
        "currency",
        "counterparty_id",
        "settlement_location",
        "ssi_status",
        "booked_at",
        "confirmed_at",
        "allocated_at",
        "status",
    ),
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
        "trade_date_after_business_date",
        "value_not_allowed",
    ),
    merge_steps=_merge(COPY_GOOD_ROWS),
    on_existing_keys="merge.sql",  # the upsert, keyed by trade_id
    daily=True,
)

CUSTODIAN_CONFIRMATIONS = Source(
    name="custodian_confirmations",
    target_table="ops.custodian_confirmations",
    key_column="trade_ref",
    columns=(
        "business_date",
        "trade_ref",
        "custodian",
        "instrument_id",
        "side",
        "quantity",
        "price",
        "settle_date",
        "counterparty_id",
        "settlement_location",
        "received_at",
    ),
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
)

SETTLEMENT_OUTCOMES = Source(
    name="settlement_outcomes",
    target_table="ops.settlement_outcomes",
    key_column="trade_id",
    columns=("trade_id", "business_date", "outcome", "settled_date", "days_late", "fail_reason"),
    rules=(
        "trade_id_missing",
        "trade_id_duplicated",
        "malformed_value",
        "business_date_mismatch",
        "trade_unknown",
        "value_not_allowed",
        "outcome_inconsistent",
    ),
    merge_steps=_merge(
        "delete_day", COPY_GOOD_ROWS, "find_later_events", "refresh_loaded_status", "refresh_other_status"
    ),
    daily=True,
)

CURRENCIES = Source(
    name="currencies",
    target_table="ops.currencies",
    key_column="currency_code",
    columns=("currency_code", "name", "minor_units", "usd_rate"),
    rules=("currency_code_missing", "currency_code_duplicated", "malformed_value"),
    merge_steps=_merge("merge"),
    daily=False,
)

COUNTERPARTIES = Source(
    name="counterparties",
    target_table="ops.counterparties",
    key_column="counterparty_id",
    columns=("counterparty_id", "legal_name", "lei", "country_code", "sector"),
    rules=("counterparty_id_missing", "counterparty_id_duplicated", "malformed_value"),
    merge_steps=_merge("merge"),
    daily=False,
)

INSTRUMENTS = Source(
    name="instruments",
    target_table="ops.instruments",
    key_column="instrument_id",
    columns=(
        "instrument_id",
        "description",
        "asset_class",
        "market",
        "currency",
        "settlement_location",
        "settlement_cycle_days",
        "liquidity_tier",
    ),
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

SETTLEMENT_INSTRUCTIONS = Source(
    name="settlement_instructions",
    target_table="ops.settlement_instructions",
    key_column="ssi_id",
    columns=(
        "ssi_id",
        "counterparty_id",
        "settlement_location",
        "currency",
        "custodian_bic",
        "safekeeping_account",
        "valid_from",
        "valid_to",
    ),
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
