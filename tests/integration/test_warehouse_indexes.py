"""The nightly access paths use their indexes, on enough data that the planner has a choice:
a seeded scratch warehouse (15 business days x 4,000 trades, analysed)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from include.markets_ops.services.sql_files import read_sql
from tests.integration.conftest import SCRATCH_CONFIG, Warehouse

DAY = dt.date(2026, 9, 15)  # inside the seeded range
SEEDED_LAST = dt.date(2026, 9, 22)

# (what the nightly DAGs do, query, parameters, the index it must use)
ACCESS_PATHS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "trades booked on a business date (scoring, feed checks)",
        "SELECT trade_id, status FROM ops.trades WHERE business_date = %(day)s",
        {"day": DAY},
        "ix_trades_business_date_trade_id",
    ),
    (
        "trades settling on a date (settlement outlook)",
        "SELECT trade_id FROM ops.trades WHERE settle_date = %(day)s",
        {"day": DAY},
        "ix_trades_settle_date",
    ),
    (
        "a counterparty's recent trades (fail history features)",
        "SELECT count(*) FROM ops.trades "
        "WHERE counterparty_id = %(cp)s AND trade_date BETWEEN %(start)s AND %(day)s",
        {"cp": "CP00042", "start": DAY - dt.timedelta(days=5), "day": DAY},
        "ix_trades_counterparty_id_trade_date",
    ),
    (
        "a trade's custodian history by trade ref (break ageing)",
        "SELECT business_date, quantity FROM ops.custodian_confirmations WHERE trade_ref = %(ref)s",
        {"ref": "T202609140000042"},
        "ix_custodian_confirmations_trade_ref",
    ),
    (
        "the custodian statement of a business date (reconciliation)",
        "SELECT trade_ref, quantity, price FROM ops.custodian_confirmations WHERE business_date = %(day)s",
        {"day": DAY},
        "pk_custodian_confirmations",
    ),
    (
        "settlement events reported on a business date (feed, training labels)",
        "SELECT trade_id, outcome FROM ops.settlement_outcomes WHERE business_date = %(day)s",
        {"day": DAY},
        "ix_settlement_outcomes_business_date",
    ),
]


def index_names(plan: dict[str, Any]) -> set[str]:
    names = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        names |= index_names(child)
    return names


def explain(warehouse: Warehouse, query: str, parameters: dict[str, Any]) -> dict[str, Any]:
    with warehouse.connect("reader") as reader:
        (plan,) = reader.execute("EXPLAIN (FORMAT JSON) " + query, parameters).fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]


@pytest.mark.parametrize(
    ("purpose", "query", "parameters", "index"), ACCESS_PATHS, ids=[p[3] for p in ACCESS_PATHS]
)
def test_the_access_path_uses_its_index(
    seeded_scratch_warehouse: Warehouse, purpose: str, query: str, parameters: dict[str, Any], index: str
) -> None:
    with seeded_scratch_warehouse.connect("reader") as reader:
        trades = reader.execute("SELECT count(*) FROM ops.trades").fetchone()[0]
    assert trades >= 15 * SCRATCH_CONFIG.trades_per_day  # enough rows for the planner to choose
    plan = explain(seeded_scratch_warehouse, query, parameters)
    assert index in index_names(plan), f"{purpose}: {json.dumps(plan, indent=1)}"


def test_the_feeds_status_refresh_looks_outcomes_up_by_trade_and_date(
    seeded_scratch_warehouse: Warehouse,
) -> None:
    # settlement_outcomes/find_later_events.sql: the events after the date being loaded.
    later = read_sql("feed/settlement_outcomes/find_later_events.sql").split("AS\n", 1)[1]
    plan = explain(seeded_scratch_warehouse, later, {"business_date": SEEDED_LAST})
    assert "ix_settlement_outcomes_business_date" in index_names(plan), json.dumps(plan, indent=1)
    # settlement_outcomes/refresh_other_status.sql: a trade's latest event.
    assert "ORDER BY o.business_date DESC" in read_sql("feed/settlement_outcomes/refresh_other_status.sql")
    plan = explain(
        seeded_scratch_warehouse,
        "SELECT o.outcome FROM ops.settlement_outcomes AS o WHERE o.trade_id = %(trade)s "
        "ORDER BY o.business_date DESC LIMIT 1",
        {"trade": "T202609140000042"},
    )
    assert "pk_settlement_outcomes" in index_names(plan)


def node_types(plan: dict[str, Any]) -> set[str]:
    return {node["Node Type"] for node in nodes(plan)}


@pytest.mark.parametrize("shard_count", [1, 2])
def test_scoring_streams_the_pending_trades_in_index_order_without_a_sort(
    seeded_scratch_warehouse: Warehouse, shard_count: int
) -> None:
    """The job's reader session (warehouse.READ_IN_INDEX_ORDER) reads the date's pending
    trades from ix_trades_business_date_trade_id in the query's ORDER BY: no Sort node, so
    the first rows are sent as the scan finds them."""
    from settlement_model import features, warehouse

    parameters = features.feature_parameters([DAY], shard_index=0, shard_count=shard_count)
    with seeded_scratch_warehouse.connect("reader") as reader:
        for name, value in (*parameters.items(), *warehouse.READ_IN_INDEX_ORDER):
            reader.execute("SELECT set_config(%s, %s, false)", (name, value))
        (plan,) = reader.execute(
            "EXPLAIN (FORMAT JSON) " + features.pending_trades_sql(one_as_of_date=True)
        ).fetchone()
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert "ix_trades_business_date_trade_id" in index_names(plan), json.dumps(plan, indent=1)
    assert not {"Sort", "Incremental Sort"} & node_types(plan), json.dumps(plan, indent=1)


def test_a_training_window_never_joins_its_labels_in_a_nested_loop(
    seeded_scratch_warehouse: Warehouse,
) -> None:
    """In the builder's session (warehouse.JOIN_WINDOWS_BY_HASH) the window's pending trades are
    joined with their labels by hash (or merge): the planner cannot see the window's bounds and,
    left to itself, compared every trade with every label in a nested loop (minutes on a test
    world)."""
    from settlement_model import features, warehouse

    dates = [DAY - dt.timedelta(days=n) for n in range(5)]
    parameters = {**features.feature_parameters(dates), "settlement_model.labels_known_by": str(DAY)}
    with seeded_scratch_warehouse.connect("reader") as reader:
        for name, value in (*parameters.items(), *warehouse.JOIN_WINDOWS_BY_HASH):
            reader.execute("SELECT set_config(%s, %s, false)", (name, value))
        (plan,) = reader.execute("EXPLAIN (FORMAT JSON) " + features.training_set_sql()).fetchone()
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert {"Hash Join", "Merge Join"} & node_types(plan), json.dumps(plan, indent=1)
    # The one nested loop left lists each trade's as-of dates (a lateral function, no filter); the
    # pathological one compared rows with a join filter (t.trade_id = o.trade_id).
    assert not [
        node for node in nodes(plan) if node["Node Type"] == "Nested Loop" and "Join Filter" in node
    ], json.dumps(plan, indent=1)


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]
