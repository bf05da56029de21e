"""The sources' declarations agree with their SQL files: columns, rules and merge steps."""

from __future__ import annotations

import re

import pytest

from include.markets_ops.feed import sources
from include.markets_ops.sql_files import read_sql
from include.markets_ops.synthetic import daily, reference
from include.markets_ops.synthetic.config import GeneratorConfig

ALL = sorted(sources.SOURCES)


@pytest.mark.parametrize("name", ALL)
def test_the_work_table_and_copy_have_the_file_columns_in_order(name: str) -> None:
    source = sources.source(name)
    land = re.findall(r"^\s+(\w+) text,?$", source.sql("land.sql"), flags=re.MULTILINE)
    assert tuple(land) == source.columns
    copy_columns = re.search(r"COPY landed_rows \((.*?)\)", source.sql("copy.sql"), flags=re.DOTALL)
    assert copy_columns is not None
    assert tuple(c.strip() for c in copy_columns.group(1).split(",")) == source.columns
    assert "HEADER match" in source.sql("copy.sql")


@pytest.mark.parametrize("name", ALL)
def test_check_sql_names_exactly_the_declared_rules_in_order(name: str) -> None:
    source = sources.source(name)
    named = re.findall(r"THEN '(\w+)'", source.sql("check.sql"))
    assert tuple(named) == source.rules


@pytest.mark.parametrize("name", ALL)
def test_merge_steps_exist_and_use_bind_parameters_only(name: str) -> None:
    source = sources.source(name)
    for step in ("land.sql", "copy.sql", "check.sql", *source.merge_steps):
        text = source.sql(step)
        assert not re.search(r"\{[a-z_]+\}", text)  # no Python formatting: values are bound
        assert "%s" not in text  # named bind parameters only
        assert set(re.findall(r"%\((\w+)\)s", text)) <= {"business_date", "source", "dag_run_id"}


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
    for name in ("prepare_load", "rule_counts", "delete_quarantine", "insert_quarantine", "drop_work_tables"):
        assert read_sql(f"feed/{name}.sql").strip()
