"""The Alembic migrations on a throwaway database: up, down to nothing, up again to the same
schema; and the SQLAlchemy models agree with what the migrations build."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Warehouse, drop_database, scratch_database

PROJECT_SCHEMAS = ("ops", "ml", "reporting", "staging", "synthetic", "events")
HEAD = "0007_events_outbox"  # the latest revision

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
    for target in ("0005_partitions", "0004_reports", "0003", "0002", "0001", "base"):
        migrate.downgrade(migration_database.owner, target)
        assert migrate.current_revision(migration_database.owner) == (None if target == "base" else target)
    migrate.upgrade_to_head(migration_database.owner)
    assert migrate.current_revision(migration_database.owner) == HEAD


def test_the_models_match_the_migrations(scratch_warehouse: Warehouse) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from include.markets_ops.warehouse.migrate import sqlalchemy_url
    from include.markets_ops.warehouse.models import Base, managed_by_migrations

    engine = create_engine(sqlalchemy_url(scratch_warehouse.owner))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_schemas": True,
                    "include_name": managed_by_migrations,
                    "compare_type": True,
                },
            )
            differences = compare_metadata(context, Base.metadata)
            collated = connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%(names)s)",
                {"names": list(COLLATED_INDEXES)},
            ).all()
    finally:
        engine.dispose()
    # Alembic does not reflect an index column's collation, so it reports these indexes as
    # changed (trade_id vs trade_id COLLATE "C") as a remove + add pair: compared from the
    # catalog instead, definition for definition.
    assert dict(collated) == COLLATED_INDEXES
    assert [d for d in differences if not _collated_index_difference(d)] == []


COLLATED_INDEXES = {
    "ix_trades_business_date_trade_id": (
        "CREATE INDEX ix_trades_business_date_trade_id ON ops.trades "
        'USING btree (business_date, trade_id COLLATE "C")'
    ),
}


def _collated_index_difference(difference: tuple) -> bool:
    kind, *objects = difference
    return kind in ("add_index", "remove_index") and objects[0].name in COLLATED_INDEXES


SCORE_ROWS = (
    "SELECT business_date, trade_id, model_version, score, risk_band FROM ml.trade_scores ORDER BY 1, 2"
)
PARTITIONS = """
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'ml.trade_scores'::regclass ORDER BY 1"""
IS_PARTITIONED = "SELECT relkind = 'p' FROM pg_class WHERE oid = 'ml.trade_scores'::regclass"


def test_0005_moves_existing_scores_into_date_partitions_and_back(migration_database: Warehouse) -> None:
    from include.markets_ops.warehouse import migrate

    migrate.upgrade_to_head(migration_database.owner)
    migrate.downgrade(migration_database.owner, "0004_reports")
    with migration_database.connect("writer") as writer:
        writer.execute(
            """
            INSERT INTO ml.trade_scores (business_date, trade_id, model_name, model_version, score,
                                         risk_band, scoring_run_id, scored_at)
            SELECT day, 'T' || n, 'settlement_fail_risk', '3', n / 10.0, 'low', 'run', now()
            FROM unnest(ARRAY[DATE '2026-11-26', DATE '2026-11-27']) AS day, generate_series(1, 5) AS n
            """
        )
        before = writer.execute(SCORE_ROWS).fetchall()
    assert len(before) == 10

    migrate.upgrade_to_head(migration_database.owner)
    with migration_database.connect("writer") as writer:
        assert writer.execute(IS_PARTITIONED).fetchone() == (True,)
        assert writer.execute(PARTITIONS).fetchall() == [
            ("trade_scores_default", "DEFAULT"),
            ("trade_scores_p20261126", "FOR VALUES IN ('2026-11-26')"),
            ("trade_scores_p20261127", "FOR VALUES IN ('2026-11-27')"),
        ]
        assert writer.execute(SCORE_ROWS).fetchall() == before
        assert writer.execute("SELECT count(*) FROM ml.trade_scores_p20261127").fetchone() == (5,)

    migrate.downgrade(migration_database.owner, "0004_reports")
    with migration_database.connect("writer") as writer:
        assert writer.execute(IS_PARTITIONED).fetchone() == (False,)
        assert writer.execute(SCORE_ROWS).fetchall() == before
