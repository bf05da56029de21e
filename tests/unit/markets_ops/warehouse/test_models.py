"""What Alembic compares: the project's schemas and tables, not ml.trade_scores' partitions."""

from __future__ import annotations

import pytest

from include.markets_ops.warehouse.models import Base, managed_by_migrations

ML = {"schema_name": "ml"}


@pytest.mark.parametrize("name", ["trade_scores_p20261127", "trade_scores_default"])
def test_partitions_of_trade_scores_are_left_to_the_swap(name: str) -> None:
    assert not managed_by_migrations(name, "table", ML)


@pytest.mark.parametrize(
    ("name", "type_", "parents"),
    [
        ("trade_scores", "table", ML),
        ("model_promotions", "table", ML),
        ("trade_scores_p2026112", "table", ML),  # not a date: not a partition name
        ("trade_scores_p20261127", "table", {"schema_name": "ops"}),
        ("ml", "schema", {}),
        ("ix_trade_scores_trade_id", "index", {"schema_name": "ml", "table_name": "trade_scores"}),
    ],
)
def test_the_rest_is_compared(name: str, type_: str, parents: dict[str, str]) -> None:
    assert managed_by_migrations(name, type_, parents)


def test_only_the_project_schemas_are_compared() -> None:
    assert managed_by_migrations("staging", "schema", {})
    assert not managed_by_migrations("public", "schema", {})


def test_trade_scores_is_partitioned_by_business_date() -> None:
    table = Base.metadata.tables["ml.trade_scores"]
    assert table.dialect_options["postgresql"]["partition_by"] == "LIST (business_date)"
    assert [column.name for column in table.primary_key.columns] == ["business_date", "trade_id"]
