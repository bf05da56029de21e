"""The Alembic migrations on a throwaway database: up, down to nothing, up again to the same
schema; and the SQLAlchemy models agree with what the migrations build."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Warehouse, drop_database, scratch_database

PROJECT_SCHEMAS = ("ops", "ml", "reporting", "staging", "synthetic")
HEAD = "0004_reports"  # the latest revision

CATALOG_QUERIES = {
    "columns": """
        SELECT table_schema, table_name, column_name, data_type, character_maximum_length,
               numeric_precision, numeric_scale, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = ANY(%(schemas)s) ORDER BY 1, 2, 3""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef
        FROM pg_indexes WHERE schemaname = ANY(%(schemas)s) ORDER BY 1, 2, 3""",
    "constraints": """
        SELECT n.nspname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = ANY(%(schemas)s) ORDER BY 1, 2""",
    "grants": """
        SELECT table_schema, table_name, grantee, privilege_type
        FROM information_schema.role_table_grants
        WHERE table_schema = ANY(%(schemas)s) ORDER BY 1, 2, 3, 4""",
    "default_privileges": """
        SELECT n.nspname, d.defaclobjtype, d.defaclacl::text
        FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY 1, 2""",
    "schemas": "SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname = ANY(%(schemas)s) ORDER BY 1",
}


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    with warehouse.connect("owner") as connection:
        return {
            name: connection.execute(query, {"schemas": list(PROJECT_SCHEMAS)}).fetchall()
            for name, query in CATALOG_QUERIES.items()
        }


@pytest.fixture
def migration_database(stack: dict[str, str]):
    warehouse = scratch_database(stack, "warehouse_migration_test")
    yield warehouse
    drop_database(warehouse.name)


def test_migrations_go_up_down_and_up_again_to_the_same_schema(migration_database: Warehouse) -> None:
    from include.markets_ops.warehouse import migrate

    migrate.upgrade_to_head(migration_database.owner)
    first = snapshot(migration_database)
    assert migrate.current_revision(migration_database.owner) == HEAD
    assert {row[0] for row in first["schemas"]} == set(PROJECT_SCHEMAS)
    assert len({(row[0], row[1]) for row in first["columns"]}) >= 17  # every table of the models
    assert first["grants"]
    assert first["default_privileges"]

    migrate.downgrade(migration_database.owner, "base")
    emptied = snapshot(migration_database)
    assert migrate.current_revision(migration_database.owner) is None
    assert emptied["schemas"] == []
    assert emptied["columns"] == []
    assert emptied["default_privileges"] == []

    migrate.upgrade_to_head(migration_database.owner)
    assert snapshot(migration_database) == first


def test_each_revision_downgrades_cleanly(migration_database: Warehouse) -> None:
    from include.markets_ops.warehouse import migrate

    migrate.upgrade_to_head(migration_database.owner)
    for target in ("0003", "0002", "0001", "base"):
        migrate.downgrade(migration_database.owner, target)
        assert migrate.current_revision(migration_database.owner) == (None if target == "base" else target)
    migrate.upgrade_to_head(migration_database.owner)
    assert migrate.current_revision(migration_database.owner) == HEAD


def test_the_models_match_the_migrations(scratch_warehouse: Warehouse) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from include.markets_ops.warehouse.migrate import sqlalchemy_url
    from include.markets_ops.warehouse.models import Base

    engine = create_engine(sqlalchemy_url(scratch_warehouse.owner))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, type_, parents: type_ != "schema" or name in PROJECT_SCHEMAS,
                    "compare_type": True,
                },
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
