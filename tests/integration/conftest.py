"""Fixtures for tests against the real PostgreSQL of the stack.

``scratch_warehouse``: a throwaway database migrated to head, so tests of loads and plans
never disturb the stack's warehouse (which the demo and the DAG runs use).
``seeded_scratch_warehouse``: the same, with a small synthetic history seeded into it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest

from include.markets_ops.synthetic.config import GeneratorConfig

SCRATCH_CONFIG = GeneratorConfig(seed=11, epoch=dt.date(2026, 9, 1), trades_per_day=4_000)
SCRATCH_DAYS = 15


@dataclass(frozen=True)
class Warehouse:
    name: str
    owner: str
    writer: str
    reader: str
    upstream: str

    def connect(self, role: str):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(getattr(self, role))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def scratch_database(stack: dict[str, str], name: str) -> Warehouse:
    from devstack import postgres

    # devstack.postgres reaches the server through its socket, named after the port.
    os.environ["STACK_POSTGRES_PORT"] = stack["POSTGRES_PORT"]
    postgres.create_scratch_database(name)
    return Warehouse(
        name=name,
        owner=with_database(stack["WAREHOUSE_OWNER_URL"], name),
        writer=with_database(stack["POSTGRES_URL"], name),
        reader=with_database(stack["REPORTING_READER_URL"], name),
        upstream=with_database(stack["UPSTREAM_FEED_URL"], name),
    )


def drop_database(name: str) -> None:
    from devstack import postgres

    postgres.drop_scratch_database(name)


@pytest.fixture(scope="session")
def scratch_warehouse(stack: dict[str, str]) -> Iterator[Warehouse]:
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    warehouse = scratch_database(stack, f"warehouse_test_{os.getpid()}")
    upgrade_to_head(warehouse.owner)
    yield warehouse
    drop_database(warehouse.name)


def seed_scratch_history(warehouse: Warehouse) -> Warehouse:
    from include.markets_ops.synthetic import seed

    dates = seed.business_dates(SCRATCH_CONFIG.epoch, SCRATCH_DAYS)
    with warehouse.connect("writer") as writer, warehouse.connect("upstream") as upstream:
        seed.seed_history(writer, upstream, SCRATCH_CONFIG, dates, progress=lambda line: None)
    with warehouse.connect("owner") as owner:
        owner.execute("ANALYZE")
    return warehouse


@pytest.fixture(scope="session")
def seeded_scratch_warehouse(scratch_warehouse: Warehouse) -> Warehouse:
    """Seeded history shared by tests that may add days to it (the feed loader's tests do)."""
    return seed_scratch_history(scratch_warehouse)


@pytest.fixture(scope="module")
def pristine_seeded_warehouse(stack: dict[str, str]) -> Iterator[Warehouse]:
    """Seeded history no other test touches: for comparisons with the whole ground truth."""
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    warehouse = scratch_database(stack, f"warehouse_truth_{os.getpid()}")
    upgrade_to_head(warehouse.owner)
    yield seed_scratch_history(warehouse)
    drop_database(warehouse.name)


@pytest.fixture(scope="session", autouse=True)
def _automatic_runs_off(nightly_schedule_switched_off: None) -> None:
    """See tests/conftest.py: no scheduled or asset-triggered run does work during the tests."""
