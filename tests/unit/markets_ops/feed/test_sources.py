"""The sources' declarations agree with their SQL files: columns, rules and merge steps."""

from __future__ import annotations

import dataclasses
import re

import pytest

from include.markets_ops.feed import sources
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.synthetic import daily, reference
from include.markets_ops.synthetic.config import GeneratorConfig

ALL = sorted(sources.SOURCES)


COLUMN = re.compile(
    r"^\s+(\w+) (?:text|varchar\(\d+\)|date|numeric\(\d+, \d+\)|smallint|timestamptz),?$", re.MULTILINE
)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    ("land", "copy", "table"),
    [("land.sql", "copy.sql", "landed_rows"), ("land_text.sql", "copy_text.sql", "landed_text")],
)
def test_the_work_tables_and_copies_have_the_file_columns_in_order(
    name: str, land: str, copy: str, table: str
) -> None:
    source = sources.source(name)
    assert tuple(COLUMN.findall(source.sql(land))) == source.columns
    copy_columns = re.search(rf"COPY {table} \((.*?)\)", source.sql(copy), flags=re.DOTALL)
    assert copy_columns is not None
    assert tuple(c.strip() for c in copy_columns.group(1).split(",")) == source.columns
    assert "HEADER match" in source.sql(copy)


def test_the_text_work_tables_hold_every_value_as_text() -> None:
    for source in sources.SOURCES.values():
        assert set(re.findall(r"^\s+\w+ (\w+)", source.sql("land_text.sql"), flags=re.MULTILINE)) == {
            "bigint",
            "text",
        }


@pytest.mark.parametrize("name", ALL)
def test_check_sql_names_exactly_the_declared_rules_in_order(name: str) -> None:
    source = sources.source(name)
    named = re.findall(r"THEN '(\w+)'", source.sql("check.sql"))
    assert tuple(named) == source.rules
    # The text fallback decides only the first three: a missing or duplicated key, malformed.
    assert tuple(re.findall(r"THEN '(\w+)'", source.sql("check_text.sql"))) == source.rules[:3]
    assert source.rules[2] == "malformed_value"


@pytest.mark.parametrize("name", ALL)
def test_merge_steps_exist_and_use_bind_parameters_only(name: str) -> None:
    source = sources.source(name)
    steps = (
        "land.sql",
        "copy.sql",
        "land_text.sql",
        "copy_text.sql",
        "check_text.sql",
        "typed_from_text.sql",
    )
    merge = [s for s in source.merge_steps if s != sources.COPY_GOOD_ROWS]
    if sources.COPY_GOOD_ROWS in source.merge_steps:
        merge += ["copy_out.sql", "copy_in.sql"]
    if source.on_existing_keys:
        merge.append(source.on_existing_keys)
    for step in (*steps, "check.sql", *merge):
        text = source.sql(step)
        assert not re.search(r"\{[a-z_]+\}", text)  # no Python formatting: values are bound
        assert "%s" not in text  # named bind parameters only
        bound = {"business_date", "source", "dag_run_id"} | (
            {"copied_straight"} if step == "check.sql" else set()
        )
        assert set(re.findall(r"%\((\w+)\)s", text)) <= bound


def test_generated_files_have_the_source_columns() -> None:
    config = GeneratorConfig(trades_per_day=200)
    day = daily.build_day(config, config.epoch)
    files = {**reference.ops_tables(config), **{s.name: getattr(day, s.name) for s in sources.DAILY_SOURCES}}
    for name, table in files.items():
        assert tuple(table.column_names) == sources.source(name).columns, name


def test_unknown_sources_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        sources.source("../etc/passwd")


def test_shared_sql_files_are_there() -> None:
    shared = ("prepare_load", "create_rejected_rows", "rule_counts", "delete_quarantine", "insert_quarantine")
    for name in (*shared, "drop_work_tables"):
        assert read_sql(f"feed/{name}.sql").strip()


@pytest.mark.parametrize("name", [s.name for s in sources.DAILY_SOURCES])
def test_good_rows_are_copied_column_for_column_into_the_target(name: str) -> None:
    source = sources.source(name)
    assert sources.COPY_GOOD_ROWS in source.merge_steps
    selected = re.search(r"SELECT\n(.*?)\n\s+FROM landed_rows", source.sql("copy_out.sql"), flags=re.DOTALL)
    assert selected is not None
    assert tuple(c.strip().removeprefix("l.") for c in selected.group(1).split(",")) == source.columns
    target = re.search(rf"COPY {source.target_table} \((.*?)\)", source.sql("copy_in.sql"), flags=re.DOTALL)
    assert target is not None
    assert tuple(c.strip() for c in target.group(1).split(",")) == source.columns
    assert "FORMAT binary" in source.sql("copy_in.sql")


def test_the_fallback_casts_each_column_to_its_declared_type_but_keeps_character_columns() -> None:
    text_as_typed = sources.TRADES.fragments()["text_as_typed"].split(", ")
    assert "t.quantity::numeric" in text_as_typed  # numeric(20, 4): the value is checked, not cut
    assert "t.booked_at::timestamptz" in text_as_typed
    assert "t.desk" in text_as_typed  # varchar(32): too long fails the insert, never cut by a cast
    assert len(text_as_typed) == len(sources.TRADES.columns)


MERGED = [s.name for s in sources.SOURCES.values() if "merge.sql" in (*s.merge_steps, s.on_existing_keys)]


@pytest.mark.parametrize("name", MERGED)
def test_a_rerun_updates_every_column_but_the_key_and_those_its_merge_sets_itself(name: str) -> None:
    source = sources.source(name)
    sql = source.sql("merge.sql")
    updated = [c for c in source.columns if c != source.key_column and c not in source.merged_apart]
    assert f"({', '.join(updated)}) = ROW({', '.join(f'excluded.{c}' for c in updated)})" in sql
    assert f"ON CONFLICT ({source.key_column})" in sql


def test_adding_a_column_to_a_source_is_one_line_of_its_declaration() -> None:
    """docs/architecture.md's example: every statement that moves the columns follows."""
    trades = dataclasses.replace(
        sources.TRADES, column_types={**sources.TRADES.column_types, "trader_id": "varchar(16)"}
    )
    expected = {
        "land.sql": "trader_id varchar(16)",
        "land_text.sql": "trader_id text",
        "copy.sql": ", trader_id",
        "copy_text.sql": ", trader_id",
        "typed_from_text.sql": ", t.trader_id",
        "copy_out.sql": ", l.trader_id",
        "copy_in.sql": ", trader_id",
        "merge.sql": "excluded.trader_id",
        "copy_straight.sql": ", trader_id",
        "land_from_target.sql": "t.trader_id::varchar(16) AS trader_id",
    }
    for step, fragment in expected.items():
        assert fragment in trades.sql(step), step
        assert fragment not in sources.TRADES.sql(step), step
    assert trades.columns[-1] == "trader_id"


@pytest.mark.parametrize(
    "column_types",
    [
        {"trade_id": "varchar(24)", "name; drop table ops.trades": "text"},
        {"trade_id": "varchar(24)", "note": "text; drop table ops.trades"},
        {"trade_id": "varchar(24)", "Note": "text"},
        {"other_key": "text"},  # no key column
    ],
)
def test_only_plain_names_and_known_types_can_be_declared(column_types: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="not a name, type or key this feed accepts"):
        dataclasses.replace(sources.TRADES, column_types=column_types)


STRAIGHT = [s.name for s in sources.SOURCES.values() if s.copied_straight]
STRAIGHT_STEPS = ("date_rows_exist.sql", "copy_straight.sql", "land_from_target.sql")


@pytest.mark.parametrize("name", STRAIGHT)
def test_a_file_copied_straight_lands_back_as_the_work_table_with_its_columns_and_types(name: str) -> None:
    source = sources.source(name)
    target = re.search(
        rf"COPY {source.target_table} \((.*?)\)", source.sql("copy_straight.sql"), flags=re.DOTALL
    )
    assert target is not None
    assert tuple(c.strip() for c in target.group(1).split(",")) == source.columns
    assert "FORMAT csv, HEADER match" in source.sql("copy_straight.sql")  # as copy.sql reads the file
    landed = source.sql("land_from_target.sql")
    assert "CREATE UNLOGGED TABLE landed_rows AS" in landed
    assert re.findall(r"t\.(\w+)::(.+?) AS (\w+)", landed) == [
        (c, t, c) for c, t in source.column_types.items()
    ]
    assert f"FROM {source.target_table} AS t" in landed
    # Its check skips what the target's keys refused already: a duplicate key, an unknown trade.
    assert "WHERE NOT %(copied_straight)s" in source.sql("check.sql")
    if name == "settlement_outcomes":
        assert "(SELECT trade_id FROM ops.trades WHERE NOT %(copied_straight)s)" in source.sql("check.sql")
        assert "WHEN NOT %(copied_straight)s AND trade.trade_id IS NULL" in source.sql("check.sql")
    for step in STRAIGHT_STEPS:
        text = source.sql(step)
        assert not re.search(r"\{[a-z_]+\}", text)
        assert set(re.findall(r"%\((\w+)\)s", text)) <= {"business_date"}


def test_the_straight_copy_is_tried_after_a_clean_file_of_the_same_source() -> None:
    predictor = read_sql("feed/latest_load_was_clean.sql")
    assert set(re.findall(r"%\((\w+)\)s", predictor)) == {"source"}
    assert not re.search(r"\{[a-z_]+\}", predictor)
    assert "quarantined_rows = 0" in predictor
    assert "ORDER BY loaded_at DESC" in predictor


def test_only_a_daily_source_copied_in_by_copy_good_rows_can_be_copied_straight() -> None:
    with pytest.raises(ValueError, match="only a daily source copied in by COPY_GOOD_ROWS"):
        dataclasses.replace(sources.CURRENCIES, copied_straight=True)  # no date whose rows are the file's
    with pytest.raises(ValueError, match="only a daily source copied in by COPY_GOOD_ROWS"):
        dataclasses.replace(sources.CUSTODIAN_CONFIRMATIONS, merge_steps=("delete_day.sql",))  # no COPY
