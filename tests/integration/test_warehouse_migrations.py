"""The Alembic migrations on a throwaway database: up, down to nothing, up again to the same
schema; and the SQLAlchemy models agree with what the migrations build. Index changes on
tables that hold rows do not block their writers, run under the migration lock timeout, and a
failed concurrent build is rebuilt by the next run."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import Warehouse, drop_database, scratch_database

PROJECT_SCHEMAS = ("ops", "ml", "reporting", "staging", "synthetic", "events")
HEAD = "0014_index_scores_partitions"  # the latest revision

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


# A writable ops.trades: one currency, counterparty and instrument, and trades numbered first..last.
REFERENCE_ROWS = """
    INSERT INTO ops.currencies (currency_code, name, minor_units) VALUES ('USD', 'US dollar', 2);
    INSERT INTO ops.counterparties (counterparty_id, legal_name, lei, country_code, sector)
    VALUES ('CP000001', 'First Bank', 'LEI00000000000000001', 'US', 'bank');
    INSERT INTO ops.instruments (instrument_id, description, asset_class, market, currency,
                                 settlement_location, settlement_cycle_days, liquidity_tier)
    VALUES ('US0000000001', 'An equity', 'equity', 'XNYS', 'USD', 'DTC', 1, 1)"""
TRADES = """
    INSERT INTO ops.trades (trade_id, business_date, trade_date, settle_date, desk, book, instrument_id,
                            side, quantity, price, notional, currency, counterparty_id,
                            settlement_location, ssi_status, booked_at, status)
    SELECT 'T' || lpad(n::text, 8, '0'), DATE '2026-11-27', DATE '2026-11-27', DATE '2026-11-30',
           'equities', 'book-1', 'US0000000001', 'BUY', 100, 10, 1000, 'USD', 'CP000001', 'DTC',
           'matched', now(), 'pending'
    FROM generate_series(%(first)s::int, %(last)s::int) AS n"""
NEW_INDEX = "ix_trades_business_date_trade_id"
INDEX_STATE = """
    SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'ops.trades'::regclass AND c.relname LIKE 'ix_trades_business_date%' ORDER BY 1"""
BUILD_IN_PROGRESS = """
    SELECT p.command, p.phase FROM pg_stat_progress_create_index p
    JOIN pg_class c ON c.oid = p.index_relid WHERE c.relname = %(index)s"""


def _upgrade(url: str, revision: str) -> None:
    from alembic import command

    from include.markets_ops.warehouse import migrate

    command.upgrade(migrate.alembic_config(url), revision)


@pytest.fixture
def trades_before_0006(migration_database: Warehouse) -> Warehouse:
    """The scratch warehouse at 0005 with 1,000 committed trades."""
    _upgrade(migration_database.owner, "0005_partitions")
    with migration_database.connect("writer") as writer:
        writer.execute(REFERENCE_ROWS)
        writer.execute(TRADES, {"first": 1, "last": 1000})
    return migration_database


def _insert_trades_within(warehouse: Warehouse, first: int, last: int, lock_timeout: str) -> None:
    """Insert and commit trades as the pipelines' role; a wait for a lock longer than
    lock_timeout raises psycopg.errors.LockNotAvailable."""
    with warehouse.connect("writer") as writer:
        writer.execute(f"SET lock_timeout = '{lock_timeout}'")
        writer.execute(TRADES, {"first": first, "last": last})


def _build_in_progress(observer, index: str) -> str | None:  # type: ignore[no-untyped-def]
    """The command building `index` now (pg_stat_progress_create_index), or None."""
    row = observer.execute(BUILD_IN_PROGRESS, {"index": index}).fetchone()
    return row[0] if row else None


def _wait_for_build(observer, index: str, seconds: float = 30.0) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if command := _build_in_progress(observer, index):
            return command
        time.sleep(0.1)
    raise AssertionError(f"no build of {index} in pg_stat_progress_create_index after {seconds} s")


def test_0006_builds_its_index_while_writes_to_ops_trades_go_on(
    trades_before_0006: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that was writing when the build started holds the build (CONCURRENTLY waits
    for it); meanwhile a new writer's insert commits at once. A plain CREATE INDEX in the same
    place queues for its SHARE lock and every later writer queues behind it (next test)."""
    from include.markets_ops.warehouse import migrate
    from include.markets_ops.warehouse.migration_timeouts import LOCK_TIMEOUT_ENV

    warehouse = trades_before_0006
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "60s")  # the build may wait for the open writer below
    with (
        warehouse.connect("writer") as open_writer,
        warehouse.connect("owner") as observer,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        observer.autocommit = True
        open_writer.execute(TRADES, {"first": 1001, "last": 1001})  # uncommitted
        migration = pool.submit(_upgrade, warehouse.owner, "0006_trades_scoring_order")
        assert _wait_for_build(observer, NEW_INDEX) == "CREATE INDEX CONCURRENTLY"

        # Blocked behind the build, this would raise LockNotAvailable after 3 s (next test).
        _insert_trades_within(warehouse, 2001, 2100, lock_timeout="3s")

        assert _build_in_progress(observer, NEW_INDEX) == "CREATE INDEX CONCURRENTLY"  # still building
        open_writer.commit()
        migration.result(timeout=120)

    with warehouse.connect("owner") as owner:
        # Built and valid; the index it replaces is dropped.
        assert owner.execute(INDEX_STATE).fetchall() == [(NEW_INDEX, True)]
        assert owner.execute("SELECT count(*) FROM ops.trades").fetchone() == (1101,)
    assert migrate.current_revision(warehouse.owner) == "0006_trades_scoring_order"


def _wait_for_lock_wait(warehouse: Warehouse, query_start: str, seconds: float = 30.0) -> None:
    with warehouse.connect("owner") as observer:
        observer.autocommit = True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = observer.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %(q)s",
                {"q": query_start + "%"},
            ).fetchone()
            if waiting:
                return
            time.sleep(0.1)
    raise AssertionError(f"{query_start!r} never waited for a lock")


def test_a_plain_create_index_in_the_same_place_blocks_the_writers(trades_before_0006: Warehouse) -> None:
    """The control for the test above: it can tell a blocked writer from a free one."""
    import psycopg

    warehouse = trades_before_0006
    with (
        warehouse.connect("writer") as open_writer,
        warehouse.connect("owner") as plain_build,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        open_writer.execute(TRADES, {"first": 1001, "last": 1001})  # uncommitted
        build = pool.submit(plain_build.execute, "CREATE INDEX ix_control ON ops.trades (business_date)")
        _wait_for_lock_wait(warehouse, "CREATE INDEX ix_control")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            _insert_trades_within(warehouse, 2001, 2100, lock_timeout="3s")
        open_writer.commit()
        build.result(timeout=60)


def test_a_concurrent_build_failed_on_the_lock_timeout_is_rebuilt_by_the_next_run(
    trades_before_0006: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that stays open longer than the lock timeout fails the build fast (the timeout
    is in force and set from the environment); the INVALID index it leaves is dropped and built
    again by the rerun, which IF NOT EXISTS alone would have kept."""
    from sqlalchemy.exc import OperationalError

    from include.markets_ops.warehouse import migrate
    from include.markets_ops.warehouse.migration_timeouts import LOCK_TIMEOUT_ENV

    warehouse = trades_before_0006
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "1s")
    with warehouse.connect("writer") as open_writer:
        open_writer.execute(TRADES, {"first": 1001, "last": 1001})  # uncommitted
        started = time.monotonic()
        with pytest.raises(OperationalError, match="canceling statement due to lock timeout"):
            _upgrade(warehouse.owner, "0006_trades_scoring_order")
        failed_after = time.monotonic() - started
        open_writer.rollback()
    assert failed_after < 15
    with warehouse.connect("owner") as owner:
        assert owner.execute(INDEX_STATE).fetchall() == [
            ("ix_trades_business_date", True),
            (NEW_INDEX, False),  # left INVALID by the failed build
        ]
    assert migrate.current_revision(warehouse.owner) == "0005_partitions"

    _upgrade(warehouse.owner, "0006_trades_scoring_order")

    with warehouse.connect("owner") as owner:
        assert owner.execute(INDEX_STATE).fetchall() == [(NEW_INDEX, True)]
        assert owner.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %(name)s", {"name": NEW_INDEX}
        ).fetchone() == (COLLATED_INDEXES[NEW_INDEX],)
    assert migrate.current_revision(warehouse.owner) == "0006_trades_scoring_order"
