"""The bulk seed (synthetic/bulk.py) on the stack's PostgreSQL: the same rows as the loader's
seed, for a new world and for a stretch after loaded days; a failure part-way leaves the
warehouse as it was, its foreign keys included; reseeding loaded dates goes through the loader
and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from include.markets_ops.synthetic import bulk, seed
from include.markets_ops.synthetic.config import GeneratorConfig
from tests.integration.conftest import Warehouse, drop_database, scratch_database

pytestmark = pytest.mark.integration

WORLD = GeneratorConfig(seed=13, epoch=dt.date(2026, 9, 1), trades_per_day=2_000)
DATES = seed.business_dates(WORLD.epoch, 9)
SEEDED_TABLES = (
    "ops.trades",
    "ops.custodian_confirmations",
    "ops.settlement_outcomes",
    "ops.counterparty_settlement_days",
    "synthetic.trade_fail_probability",
    "synthetic.injected_breaks",
    "synthetic.injected_bad_rows",
    "reporting.quarantine",
)


def _fingerprint(warehouse: Warehouse) -> dict[str, Any]:
    """Each seeded table's row count and a digest of its rows (in no particular order), and the
    warehouse's primary and foreign keys and indexes as the catalog defines them (a new world's
    seed drops the indexes, primary keys included, and builds them again at its end)."""
    with psycopg.connect(warehouse.owner) as owner:
        tables = {
            table: owner.execute(
                f"SELECT count(*), md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) FROM {table} AS x"
            ).fetchone()
            for table in SEEDED_TABLES
        }
        keys = owner.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
            " FROM pg_constraint WHERE contype IN ('p', 'f') ORDER BY 1, 2"
        ).fetchall()
        indexes = owner.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisvalid"
            " FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid"
            " WHERE t.relnamespace::regnamespace::text IN ('ops', 'synthetic', 'reporting') ORDER BY 1"
        ).fetchall()
    return {"tables": tables, "keys": keys, "indexes": indexes}


def _seed(warehouse: Warehouse, dates: list[dt.date], *, in_bulk: bool) -> None:
    with psycopg.connect(warehouse.writer) as writer, psycopg.connect(warehouse.upstream) as upstream:
        owner_url = warehouse.owner if in_bulk else None
        seed.seed_history(writer, upstream, WORLD, dates, progress=lambda line: None, owner_url=owner_url)


@pytest.fixture(scope="module")
def warehouses(stack: dict[str, str]) -> Iterator[dict[str, Warehouse]]:
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    created = {}
    try:
        for name in ("loader", "bulk", "continued"):
            created[name] = scratch_database(stack, f"warehouse_seed_{name}")
            upgrade_to_head(created[name].owner)
        yield created
    finally:
        for warehouse in created.values():
            drop_database(warehouse.name)


@pytest.fixture(scope="module")
def loader_seeded(warehouses: dict[str, Warehouse]) -> dict[str, Any]:
    _seed(warehouses["loader"], DATES, in_bulk=False)
    return _fingerprint(warehouses["loader"])


@pytest.fixture(scope="module")
def bulk_seeded(warehouses: dict[str, Warehouse]) -> dict[str, Any]:
    _seed(warehouses["bulk"], DATES, in_bulk=True)
    return _fingerprint(warehouses["bulk"])


def test_a_new_world_seeded_in_bulk_has_the_loaders_rows(
    bulk_seeded: dict[str, Any], loader_seeded: dict[str, Any]
) -> None:
    assert bulk_seeded == loader_seeded
    assert loader_seeded["tables"]["ops.trades"][0] == len(DATES) * WORLD.trades_per_day
    foreign_keys = [key for key in loader_seeded["keys"] if key[2].startswith("FOREIGN KEY")]
    assert len(foreign_keys) >= 7  # trades' three, the outcomes' one, the others'
    assert ("ops.trades", "pk_trades", "PRIMARY KEY (trade_id)", True) in loader_seeded["keys"]


def test_the_counterparties_record_per_date_is_the_outcomes_joined_to_their_trades(
    warehouses: dict[str, Warehouse], loader_seeded: dict[str, Any], bulk_seeded: dict[str, Any]
) -> None:
    """ops.counterparty_settlement_days (written with each date's outcomes by the loader, once
    for the stretch by the bulk seed; the same rows: the fingerprints above) is the join the
    model's counterparty history used to make every night."""
    direct = """
        SELECT o.business_date, t.counterparty_id,
               count(*) FILTER (WHERE o.outcome = 'failed' OR o.days_late = 0),
               count(*) FILTER (WHERE o.outcome = 'failed')
        FROM ops.settlement_outcomes AS o JOIN ops.trades AS t USING (trade_id)
        GROUP BY 1, 2 ORDER BY 1, 2
    """
    stored = (
        "SELECT reported_on, counterparty_id, attempts, fails"
        " FROM ops.counterparty_settlement_days ORDER BY 1, 2"
    )
    with psycopg.connect(warehouses["loader"].owner) as owner:
        expected = owner.execute(direct).fetchall()
        assert owner.execute(stored).fetchall() == expected
    assert len({row[0] for row in expected}) >= len(DATES) - 3  # outcomes from the first settle dates on
    assert sum(row[3] for row in expected) > 0  # fails among them


def test_a_stretch_after_loaded_days_seeded_in_bulk_has_the_loaders_rows(
    warehouses: dict[str, Warehouse], loader_seeded: dict[str, Any]
) -> None:
    """The first days through the loader, the rest in bulk: the stretch's settlement events
    settle or fail trades booked before it (refresh_earlier_status.sql)."""
    continued = warehouses["continued"]
    _seed(continued, DATES[:4], in_bulk=False)
    assert bulk.is_fresh(continued.owner, DATES[4])

    _seed(continued, DATES[4:], in_bulk=True)

    assert _fingerprint(continued) == loader_seeded


def test_reseeding_loaded_dates_changes_nothing(
    warehouses: dict[str, Warehouse], bulk_seeded: dict[str, Any], loader_seeded: dict[str, Any]
) -> None:
    warehouse = warehouses["bulk"]
    assert not bulk.is_fresh(warehouse.owner, DATES[2])  # so seed_history takes the loader

    _seed(warehouse, DATES[2:5], in_bulk=True)

    assert _fingerprint(warehouse) == loader_seeded


def test_a_stretch_loaded_after_the_freshness_check_is_left_to_the_loader(
    warehouses: dict[str, Warehouse], bulk_seeded: dict[str, Any]
) -> None:
    """A feed load can land between seed_history's check and the seed's transaction: the seed
    checks again under the feed's lock, writes nothing and says so (seed_history then takes
    the loader), instead of colliding with the loaded rows."""
    warehouse = warehouses["bulk"]
    before = _fingerprint(warehouse)

    def never(date: dt.date, counts: dict[str, int], seconds: float) -> None:
        raise AssertionError(f"{date} was written in bulk over loaded rows")

    assert bulk.seed_days(warehouse.owner, WORLD, DATES[5:7], never) is False

    assert _fingerprint(warehouse) == before


@pytest.mark.parametrize("loaded_days", [0, 2], ids=["new world", "after loaded days"])
def test_a_bulk_seed_that_fails_part_way_leaves_the_warehouse_as_it_was(
    stack: dict[str, str], loaded_days: int
) -> None:
    """In a new world the seed has dropped the indexes too; after loaded days, only the
    foreign keys. Either way all comes back with the rollback."""
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    warehouse = scratch_database(stack, "warehouse_seed_failed")
    try:
        upgrade_to_head(warehouse.owner)
        _seed(warehouse, DATES[:loaded_days], in_bulk=False)
        before = _fingerprint(warehouse)

        def fail_after_the_second_day(date: dt.date, counts: dict[str, int], seconds: float) -> None:
            if date == DATES[3]:
                raise RuntimeError("injected: the seed stops here")

        with pytest.raises(RuntimeError, match="injected"):
            bulk.seed_days(warehouse.owner, WORLD, DATES[2:6], fail_after_the_second_day)

        assert _fingerprint(warehouse) == before
        assert bulk.is_fresh(warehouse.owner, DATES[2])
    finally:
        drop_database(warehouse.name)


def test_a_duplicate_key_in_a_new_worlds_stretch_fails_the_seed_when_the_key_is_added_back(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a new world the primary keys are dropped for the stretch: a trade written twice is
    caught when ops.trades' key is added back at the end, and nothing of the stretch is kept."""
    from adbc_driver_manager import IntegrityError

    from include.markets_ops.warehouse.migrate import upgrade_to_head

    write_piece = bulk.write_piece

    def write_the_second_days_trades_twice(connection: Any, piece: bulk.Piece, targets: Any) -> int:
        if piece.business_date == DATES[1] and piece.table == "trades":
            write_piece(connection, piece, targets)
        return write_piece(connection, piece, targets)

    warehouse = scratch_database(stack, "warehouse_seed_duplicated")
    try:
        upgrade_to_head(warehouse.owner)
        _seed(warehouse, [], in_bulk=False)  # the reference data only
        before = _fingerprint(warehouse)
        monkeypatch.setattr(bulk, "write_piece", write_the_second_days_trades_twice)

        with pytest.raises(IntegrityError, match='could not create unique index "pk_trades"'):
            bulk.seed_days(warehouse.owner, WORLD, DATES[:3], lambda *day: None)

        assert _fingerprint(warehouse) == before
        assert bulk.is_fresh(warehouse.owner, DATES[0])
    finally:
        drop_database(warehouse.name)
