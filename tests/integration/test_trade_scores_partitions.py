"""ml.trade_scores partitioned by business date (migration 0005), on a throwaway warehouse:
the writer replaces a date only through the owner's two functions, a failing attach leaves
the previous partition, and the readers of a date read only its partition."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from include.markets_ops.alerting import rules
from include.markets_ops.services.sql_files import read_sql
from tests.integration.conftest import Warehouse, drop_database, scratch_database

DAY = dt.date(2026, 11, 26)  # a Thursday: a business day for the alert rules' calendar
OTHER_DAY = dt.date(2026, 11, 25)
LATER_DAY = dt.date(2026, 12, 3)  # scored later: no reader of DAY may look at it
PARTITION = "trade_scores_p20261126"
NEXT = f"{PARTITION}_next"

INSERT_SCORES = """
    INSERT INTO {table} (business_date, trade_id, model_name, model_version, score, risk_band,
                         scoring_run_id, scored_at)
    SELECT %(day)s, 'T' || lpad(n::text, 8, '0'), 'settlement_fail_risk', %(version)s,
           (n %% 100) / 100.0, 'low', %(run)s, now()
    FROM generate_series(1, %(rows)s) AS n
"""
DATE_ROWS = """
    SELECT model_version, scoring_run_id, count(*) FROM ml.trade_scores WHERE business_date = %s GROUP BY 1, 2
"""
DEFAULT_ROWS = "SELECT business_date, count(*) FROM ml.trade_scores_default GROUP BY 1"
PARTITION_OID = "SELECT to_regclass(%s)::oid"


@pytest.fixture(scope="module")
def warehouse(stack: dict[str, str]) -> Iterator[Warehouse]:
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    scratch = scratch_database(stack, "warehouse_partitions_test")
    upgrade_to_head(scratch.owner)
    yield scratch
    drop_database(scratch.name)


def insert(conn: Any, table: str, day: dt.date, *, version: str, run: str, rows: int) -> None:
    values = {"day": day, "version": version, "run": run, "rows": rows}
    conn.execute(INSERT_SCORES.format(table=table), values)


def replace_date(conn: Any, day: dt.date, *, version: str, run: str, rows: int) -> str:
    """What the scoring swap does, as the writer: prepare, fill, attach (one transaction)."""
    with conn.transaction():
        (table,) = conn.execute(
            read_sql("scoring/prepare_scores_partition.sql"),
            {"scores_table": "trade_scores", "business_date": day},
        ).fetchone()
        insert(conn, f"ml.{table}", day, version=version, run=run, rows=rows)
        (attached,) = conn.execute(
            read_sql("scoring/attach_scores_partition.sql"),
            {"scores_table": "trade_scores", "business_date": day},
        ).fetchone()
    return attached


def test_the_writer_replaces_a_date_by_attaching_a_new_partition(warehouse: Warehouse) -> None:
    with warehouse.connect("writer") as writer:
        writer.autocommit = True
        # Rows written straight into the table (no partition for their dates yet) land in the default.
        insert(writer, "ml.trade_scores", DAY, version="1", run="direct", rows=10)
        insert(writer, "ml.trade_scores", OTHER_DAY, version="1", run="direct", rows=10)
        assert writer.execute("SELECT count(*) FROM ml.trade_scores_default").fetchone() == (20,)

        assert replace_date(writer, DAY, version="2", run="first", rows=1000) == PARTITION
        first_oid = writer.execute(PARTITION_OID, (f"ml.{PARTITION}",)).fetchone()
        assert writer.execute(DATE_ROWS, (DAY,)).fetchall() == [("2", "first", 1000)]
        # The date's direct rows were replaced; another date's stay where they were.
        assert writer.execute(DEFAULT_ROWS).fetchall() == [(OTHER_DAY, 10)]

        assert replace_date(writer, DAY, version="3", run="second", rows=700) == PARTITION
        assert writer.execute(DATE_ROWS, (DAY,)).fetchall() == [("3", "second", 700)]
        assert writer.execute(PARTITION_OID, (f"ml.{PARTITION}",)).fetchone() != first_oid
        assert writer.execute("SELECT to_regclass(%s)", (f"ml.{NEXT}",)).fetchone() == (None,)

    with warehouse.connect("owner") as owner:
        # Attached with the parent's indexes, bound to the date, no leftover check constraint.
        bound = owner.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = %s::regclass",
            (f"ml.{PARTITION}",),
        ).fetchone()
        assert bound == ("FOR VALUES IN ('2026-11-26')",)
        parents = owner.execute(
            """
            SELECT parent.relname FROM pg_index i
            JOIN pg_inherits h ON h.inhrelid = i.indexrelid JOIN pg_class parent ON parent.oid = h.inhparent
            WHERE i.indrelid = %s::regclass ORDER BY 1
            """,
            (f"ml.{PARTITION}",),
        ).fetchall()
        assert parents == [("ix_trade_scores_trade_id",), ("pk_trade_scores",)]
        checks = owner.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c' ORDER BY 1",
            (f"ml.{PARTITION}",),
        ).fetchall()
        assert checks == [("ck_trade_scores_risk_band",), ("ck_trade_scores_score_is_probability",)]
        # The partition has the grants of every ml table (the schema's default privileges).
        grants = owner.execute(
            "SELECT has_table_privilege('reporting_reader', %(t)s, 'SELECT'), "
            "has_table_privilege('reporting_reader', %(t)s, 'INSERT'), "
            "has_table_privilege('warehouse_writer', %(t)s, 'INSERT')",
            {"t": f"ml.{PARTITION}"},
        ).fetchone()
        assert grants == (True, False, True)


def index_next(conn: Any, day: dt.date, index_kind: str) -> None:
    conn.execute(
        read_sql("scoring/index_scores_partition.sql"),
        {"scores_table": "trade_scores", "business_date": day, "index_kind": index_kind},
    )


def test_indexes_built_before_the_attach_become_the_partitions_own(warehouse: Warehouse) -> None:
    """The swap builds the next partition's indexes first (ml.index_scores_partition, each in a
    transaction of its own; again, nothing is built twice); the attach makes the primary key
    from the unique index instead of sorting the rows again."""
    index_oids = (
        "SELECT relname, oid FROM pg_class WHERE oid IN "
        "(SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass) ORDER BY 1"
    )
    with warehouse.connect("writer") as writer:
        writer.autocommit = True
        writer.execute("SELECT ml.prepare_scores_partition('trade_scores', %s)", (OTHER_DAY,))
        next_table = "ml.trade_scores_p20261125_next"
        insert(writer, next_table, OTHER_DAY, version="4", run="indexed", rows=300)
        for index_kind in ("primary_key", "trade_id", "primary_key", "trade_id"):
            index_next(writer, OTHER_DAY, index_kind)
        built = writer.execute(index_oids, (next_table,)).fetchall()
        assert [name for name, _ in built] == [
            "trade_scores_p20261125_next_pkey",
            "trade_scores_p20261125_next_trade_id_idx",
        ]
        with writer.transaction():
            writer.execute("SELECT ml.attach_scores_partition('trade_scores', %s)", (OTHER_DAY,))
        attached = writer.execute(index_oids, ("ml.trade_scores_p20261125",)).fetchall()
        assert [oid for _, oid in attached] == [oid for _, oid in built]  # the same indexes, renamed
        assert writer.execute(DATE_ROWS, (OTHER_DAY,)).fetchall() == [("4", "indexed", 300)]
    with warehouse.connect("owner") as owner:
        primary_key = owner.execute(
            "SELECT conindid::regclass::text FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'p'",
            ("ml.trade_scores_p20261125",),
        ).fetchone()
        assert primary_key == ("ml.trade_scores_p20261125_pkey",)


def test_a_duplicate_score_fails_the_index_build_and_nothing_is_attached(warehouse: Warehouse) -> None:
    with warehouse.connect("writer") as writer:
        replace_date(writer, LATER_DAY, version="5", run="before", rows=20)
        writer.commit()
        writer.autocommit = True
        writer.execute("SELECT ml.prepare_scores_partition('trade_scores', %s)", (LATER_DAY,))
        for _ in range(2):
            insert(writer, "ml.trade_scores_p20261203_next", LATER_DAY, version="6", run="twice", rows=5)
        with pytest.raises(psycopg.errors.UniqueViolation):
            index_next(writer, LATER_DAY, "primary_key")
        assert writer.execute(DATE_ROWS, (LATER_DAY,)).fetchall() == [("5", "before", 20)]


def test_a_failing_attach_leaves_the_previous_partition(warehouse: Warehouse) -> None:
    with warehouse.connect("writer") as writer:
        writer.autocommit = True
        replace_date(writer, DAY, version="4", run="before", rows=50)
        before_oid = writer.execute(PARTITION_OID, (f"ml.{PARTITION}",)).fetchone()
        with writer.transaction(force_rollback=True):
            (table,) = writer.execute(
                "SELECT ml.prepare_scores_partition('trade_scores', %s)", (DAY,)
            ).fetchone()
            insert(writer, f"ml.{table}", DAY, version="5", run="broken", rows=50)
            insert(writer, f"ml.{table}", DAY, version="5", run="broken", rows=1)  # a trade twice
            with pytest.raises(psycopg.errors.UniqueViolation):  # building the primary key fails
                writer.execute("SELECT ml.attach_scores_partition('trade_scores', %s)", (DAY,))
        assert writer.execute(DATE_ROWS, (DAY,)).fetchall() == [("4", "before", 50)]
        assert writer.execute(PARTITION_OID, (f"ml.{PARTITION}",)).fetchone() == before_oid
        assert writer.execute("SELECT to_regclass(%s)", (f"ml.{NEXT}",)).fetchone() == (None,)
        # Attaching without a prepared table says what to do.
        with pytest.raises(psycopg.errors.RaiseException, match="call prepare_scores_partition first"):
            writer.execute("SELECT ml.attach_scores_partition('trade_scores', %s)", (DAY,))


def test_the_writer_fills_a_prepared_next_partition_in_its_own_transactions(warehouse: Warehouse) -> None:
    """What the scoring run does: prepare (committed), then each shard deletes its slice and
    COPYs its rows in its own transaction, then the swap attaches. The writer needs only the
    privileges the ml schema's default privileges give the table the function creates."""
    from settlement_model import contract

    assert contract.next_partition_name(DAY) == NEXT
    with warehouse.connect("writer") as writer:
        writer.autocommit = True
        (table,) = writer.execute("SELECT ml.prepare_scores_partition('trade_scores', %s)", (DAY,)).fetchone()
        assert table == NEXT
        privileges = writer.execute(
            "SELECT has_table_privilege(%(t)s, 'DELETE'), has_table_privilege(%(t)s, 'INSERT'), "
            "has_table_privilege(%(t)s, 'SELECT'), has_table_privilege(%(t)s, 'TRUNCATE')",
            {"t": f"ml.{NEXT}"},
        ).fetchone()
        assert privileges == (True, True, True, False)
        with (
            writer.transaction(),
            writer.cursor().copy(
                f"COPY ml.{NEXT} (business_date, trade_id, model_name, "
                "model_version, score, risk_band, scoring_run_id, scored_at) FROM STDIN"
            ) as copy,
        ):
            for n in range(100):
                copy.write_row((DAY, f"T{n:08d}", "settlement_fail_risk", "8", 0.5, "medium", "copied", DAY))
        with writer.transaction():
            deleted = writer.execute(f"DELETE FROM ml.{NEXT} WHERE trade_id < 'T00000040'").rowcount
            insert(writer, f"ml.{NEXT}", DAY, version="8", run="copied", rows=39)  # T00000001..T00000039
        assert deleted == 40
        assert writer.execute(f"SELECT count(*) FROM ml.{NEXT}").fetchone() == (99,)
        (attached,) = writer.execute(
            "SELECT ml.attach_scores_partition('trade_scores', %s)", (DAY,)
        ).fetchone()
        assert attached == PARTITION
        assert writer.execute(DATE_ROWS, (DAY,)).fetchall() == [("8", "copied", 99)]


@pytest.mark.parametrize(
    "statement",
    [
        f"ALTER TABLE ml.trade_scores DETACH PARTITION ml.{PARTITION}",
        "ALTER TABLE ml.trade_scores DETACH PARTITION ml.trade_scores_default",
        f"DROP TABLE ml.{PARTITION}",
        "CREATE TABLE ml.trade_scores_p20301231 PARTITION OF ml.trade_scores FOR VALUES IN ('2030-12-31')",
        "CREATE TABLE staging.own_partition (LIKE ml.trade_scores INCLUDING ALL); "
        "ALTER TABLE ml.trade_scores ATTACH PARTITION staging.own_partition FOR VALUES IN ('2030-12-30')",
    ],
)
def test_the_writer_cannot_attach_detach_or_drop_partitions_itself(
    warehouse: Warehouse, statement: str
) -> None:
    with warehouse.connect("writer") as writer:
        replace_date(writer, DAY, version="6", run="setup", rows=5)
    with warehouse.connect("writer") as writer, pytest.raises(psycopg.errors.InsufficientPrivilege):
        writer.execute(statement)


def test_only_the_writer_may_call_the_functions_and_they_pin_their_search_path(warehouse: Warehouse) -> None:
    for role in ("reader", "upstream"):
        for function in ("prepare", "analyze", "attach"):
            with warehouse.connect(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT ml.{function}_scores_partition('trade_scores', %s)", (DAY,))
        with warehouse.connect(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT ml.index_scores_partition('trade_scores', %s, 'trade_id')", (DAY,))
    with warehouse.connect("owner") as owner:
        functions = owner.execute(
            """
            SELECT p.proname, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner),
                   array(SELECT grantee::regrole::text FROM aclexplode(p.proacl)
                         WHERE privilege_type = 'EXECUTE' AND grantee <> p.proowner ORDER BY 1)
            FROM pg_proc p WHERE p.pronamespace = 'ml'::regnamespace ORDER BY 1
            """
        ).fetchall()
    pinned = ["search_path=pg_catalog, pg_temp"]
    assert functions == [
        (name, True, config, "warehouse_owner", ["warehouse_writer"])
        for name, config in (
            ("analyze_scores_partition", pinned),
            ("attach_scores_partition", pinned),
            # Built two at a time: no parallel workers competing for the same cores.
            ("index_scores_partition", [*pinned, "max_parallel_maintenance_workers=0"]),
            ("prepare_scores_partition", pinned),
        )
    ]
    # Only the two scores tables (any other name is refused before anything is built), and only
    # the two indexes a partition has.
    not_a_scores_table = r"is not ml\.trade_scores or ml\.shadow_scores"
    refused = [
        ("SELECT ml.prepare_scores_partition('model_promotions', %s)", not_a_scores_table),
        ("SELECT ml.analyze_scores_partition('model_promotions', %s)", not_a_scores_table),
        ("SELECT ml.index_scores_partition('model_promotions', %s, 'trade_id')", not_a_scores_table),
        (
            "SELECT ml.index_scores_partition('trade_scores', %s, 'risk_band')",
            "is not primary_key or trade_id",
        ),
    ]
    for call, message in refused:
        with (
            warehouse.connect("writer") as writer,
            pytest.raises(psycopg.errors.RaiseException, match=message),
        ):
            writer.execute(call, (DAY,))


def relations(plan: dict[str, Any]) -> set[str]:
    names = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        names |= relations(child)
    return names


def trade_scores_read(warehouse: Warehouse, query: str, parameters: dict[str, Any]) -> set[str]:
    with warehouse.connect("reader") as reader:
        (plan,) = reader.execute("EXPLAIN (FORMAT JSON) " + query, parameters).fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return {name for name in relations(plan[0]["Plan"]) if name.startswith("trade_scores")}


DATE_READERS = [
    "score_drift_psi.sql",
    "scoring_coverage.sql",
    "high_risk_unmatched_settling_next_day.sql",
    "stale_champion.sql",
]


@pytest.fixture(scope="module")
def three_scored_days(warehouse: Warehouse) -> Warehouse:
    with warehouse.connect("writer") as writer:
        for day in (OTHER_DAY - dt.timedelta(days=1), OTHER_DAY, DAY, LATER_DAY):
            replace_date(writer, day, version="7", run="explain", rows=20_000)
    with warehouse.connect("owner") as owner:
        owner.execute("ANALYZE ml.trade_scores")
    return warehouse


@pytest.mark.parametrize("rule_file", DATE_READERS)
def test_an_alert_on_a_date_reads_only_its_partition(three_scored_days: Warehouse, rule_file: str) -> None:
    rule = rules.load_rule(rule_file)
    assert "ml.trade_scores" in rule.query
    read = trade_scores_read(three_scored_days, rule.query, rule.bind(DAY))
    if rule_file == "score_drift_psi.sql":
        # Today against the trailing business days: their partitions, and the default partition
        # for the trailing days that have none (their rows could only be there).
        assert read == {PARTITION, "trade_scores_p20261125", "trade_scores_p20261124", "trade_scores_default"}
    else:
        assert read == {PARTITION}


def scans(plan: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    found = []
    if "Relation Name" in plan:
        found.append((plan["Relation Name"], plan["Node Type"], plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


def test_a_trades_scores_are_found_through_the_trade_id_index(three_scored_days: Warehouse) -> None:
    with three_scored_days.connect("reader") as reader:
        (plan,) = reader.execute(
            "EXPLAIN (FORMAT JSON) SELECT business_date, score FROM ml.trade_scores WHERE trade_id = %s",
            ("T00000042",),
        ).fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    dated = [scan for scan in scans(plan[0]["Plan"]) if scan[0].startswith("trade_scores_p")]
    assert len(dated) == 4
    assert all(index == f"{table}_trade_id_idx" for table, _, index in dated), dated
