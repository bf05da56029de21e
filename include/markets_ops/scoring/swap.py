"""The date's next partition of ml.trade_scores: prepared before the shards, attached after them.

``prepare_partition``: the date's empty next partition, ml.trade_scores_pYYYYMMDD_next, which the
shards write into directly (each replacing its own slice, in one transaction per shard); when the
plan shadows a challenger, ml.shadow_scores_pYYYYMMDD_next beside it.
``swap_into_trade_scores``: the next partitions' indexes are built first, two at a time, each on
its own connection; then the next partition is attached in place of the date's previous one
in one transaction, after checks (it exists, written by this run with the pinned model, not
empty while trades are pending); the shadow partition in the same transaction, checked to hold
the challenger's score of every trade the champion scored. A failure leaves the previous rows
of both. A dry run writes only the shards' staging work tables (no next partition, no swap).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from settlement_model import contract
from settlement_model.contract import SHADOW_SCORES, TRADE_SCORES

from include.markets_ops.scoring.plan import ScoringPlan
from include.markets_ops.services import postgres
from include.markets_ops.services.sql_files import read_sql

STAGING_SCHEMA = "staging"
SWAP_STATEMENT_TIMEOUT = "15min"
# A next partition's indexes (ml.index_scores_partition), built side by side: two sorts of a
# million trade ids take 0.41-0.45 s at once, 0.82 s one after the other (2 cores).
INDEXES = ("primary_key", "trade_id")
INDEX_BUILDS_AT_ONCE = 2


class SwapError(RuntimeError):
    """The date's next partition is missing or not a consistent scoring of the date by this run."""


def _drop_staging_table(table: str) -> Any:
    from psycopg import sql

    return sql.SQL(read_sql("scoring/drop_staging_table.sql")).format(
        staging_table=sql.Identifier(STAGING_SCHEMA, table)
    )


def partition_table(business_date: dt.date) -> str:
    """The date's partition of ml.trade_scores (named by migration 0005's functions)."""
    return f"trade_scores_p{business_date:%Y%m%d}"


def _begin(conn: Any, plan: ScoringPlan) -> dict[str, Any]:
    """The statement timeout and the date's lock, for the current transaction."""
    params = {"business_date": plan.business_date}
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (SWAP_STATEMENT_TIMEOUT,))
    conn.execute(read_sql("scoring/lock_business_date.sql"), params)
    return params


def _scores_tables(plan: ScoringPlan) -> tuple[str, ...]:
    """The tables the plan's shards write: the champion's scores, and the challenger's in shadow."""
    return (TRADE_SCORES, SHADOW_SCORES) if plan.shadow_version else (TRADE_SCORES,)


def prepare_partition(database_url: str, plan: ScoringPlan) -> list[str]:
    """Create the date's empty next partitions (dropping leftovers) for the shards to fill.

    Committed on its own, before the shards start: each shard then writes its slice straight
    into them, and the swap attaches them. Returns their names in ml.
    """
    from psycopg.rows import dict_row

    prepared_tables = []
    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        params = _begin(conn, plan)
        for scores_table in _scores_tables(plan):
            expected = contract.next_partition_name(plan.business_date, scores_table)
            prepared = conn.execute(
                read_sql("scoring/prepare_scores_partition.sql"), {**params, "scores_table": scores_table}
            ).fetchone()
            if prepared is None or prepared["table_name"] != expected:
                raise SwapError(
                    f"ml.prepare_scores_partition gave {prepared}, expected {expected}: "
                    "the warehouse's functions (migration 0009) and this code disagree"
                )
            prepared_tables.append(expected)
    return prepared_tables


def swap_into_trade_scores(database_url: str, plan: ScoringPlan) -> dict[str, Any]:
    """Attach the date's next partition, which the shards filled, in place of the previous one.

    Its indexes first (``build_indexes``); then one transaction: the next partition is attached,
    then checked (this run's rows, the pinned model, not empty while trades are pending); a
    failed check rolls the attach back. Readers see the previous partition until the commit,
    then the new one.
    """
    from psycopg.rows import dict_row

    build_indexes(database_url, plan)
    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        params = _begin(conn, plan)
        shadow = None
        if plan.shadow_version:
            # First: its rows are counted before the champion's attach locks ml.trade_scores,
            # whose readers then wait only for catalog changes.
            _attach(conn, plan, SHADOW_SCORES, params)
            shadow = conn.execute(read_sql("scoring/shadow_scores_summary.sql"), params).fetchone()
        _attach(conn, plan, TRADE_SCORES, params)
        summary = conn.execute(read_sql("scoring/trade_scores_summary.sql"), params).fetchone()
        assert summary is not None
        _check_swapped(conn, plan, summary)
        if shadow is not None:
            _check_shadow(plan, summary, shadow)
        pattern = {"pattern": f"trade\\_scores\\_{plan.business_date:%Y%m%d}\\_%"}
        for row in conn.execute(read_sql("scoring/staging_tables_of_date.sql"), pattern).fetchall():
            conn.execute(_drop_staging_table(row["tablename"]))
    return {
        "business_date": plan.business_date.isoformat(),
        "row_count": summary["row_count"],
        "high": summary["high"],
        "medium": summary["medium"],
        "low": summary["low"],
        "model_version": plan.model_version,
        "shadow_version": plan.shadow_version,
        "shadow_row_count": shadow["row_count"] if shadow else 0,
    }


def build_indexes(database_url: str, plan: ScoringPlan) -> None:
    """Every index of the plan's next partitions, ``INDEX_BUILDS_AT_ONCE`` at a time, each on its
    own connection and committed on its own: the tables are no reader's until they are attached,
    and ml.attach_scores_partition then makes the primary key from the unique index instead of
    sorting the rows again. A swap run again finds them built (the function skips them)."""
    from concurrent.futures import ThreadPoolExecutor

    builds = [(scores_table, index) for scores_table in _scores_tables(plan) for index in INDEXES]
    with ThreadPoolExecutor(INDEX_BUILDS_AT_ONCE, thread_name_prefix="index-build") as pool:
        list(pool.map(lambda build: _build_index(database_url, plan, *build), builds))


def _build_index(database_url: str, plan: ScoringPlan, scores_table: str, index: str) -> None:
    from psycopg.rows import dict_row

    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (SWAP_STATEMENT_TIMEOUT,))
        _check_prepared(conn, plan, scores_table)
        conn.execute(
            read_sql("scoring/index_scores_partition.sql"),
            {"business_date": plan.business_date, "scores_table": scores_table, "index_kind": index},
        )


def _attach(conn: Any, plan: ScoringPlan, scores_table: str, params: dict[str, Any]) -> None:
    _check_prepared(conn, plan, scores_table)
    # Its statistics first: a partition attached without them is planned as a few rows (the
    # shadow comparison's join then took 35-48 s instead of 0.2 s) until autovacuum analyzes it.
    conn.execute(read_sql("scoring/analyze_scores_partition.sql"), {**params, "scores_table": scores_table})
    conn.execute(read_sql("scoring/attach_scores_partition.sql"), {**params, "scores_table": scores_table})


def _check_prepared(conn: Any, plan: ScoringPlan, scores_table: str) -> None:
    new_partition = contract.next_partition_name(plan.business_date, scores_table)
    exists = conn.execute(read_sql("scoring/table_exists.sql"), {"table": f"ml.{new_partition}"}).fetchone()
    if exists is None or not exists["found"]:
        raise SwapError(
            f"not swapping {plan.business_date}: ml.{new_partition} is missing (plan_shards prepares "
            "it and the swap consumes it; a shard rerun after the swap, or a run that skipped "
            "plan_shards?): rerun the whole run"
        )


def _check_shadow(plan: ScoringPlan, summary: dict[str, Any], shadow: dict[str, Any]) -> None:
    """Refuse (rolling both attaches back) shadow rows that are not this run's challenger's score
    of every trade the champion scored: the comparison needs both models on the same trades."""
    problems = _foreign_rows(shadow, str(plan.shadow_version), plan.scoring_run_id)
    if shadow["row_count"] != summary["row_count"]:
        problems.append(f"{shadow['row_count']} shadow scores for {summary['row_count']} champion scores")
    if problems:
        raise SwapError(
            f"not swapping {plan.business_date} (ml.shadow_scores: "
            + "; ".join(problems)
            + "): nothing was changed; rerun the whole run"
        )


def _check_swapped(conn: Any, plan: ScoringPlan, summary: dict[str, Any]) -> None:
    """Refuse (rolling the attach back) rows that are not this run's scoring of the date.

    Rows of another run or model version are stale: the next partition was filled by shards of
    another run (e.g. this run's plan was not the last to prepare it). No rows at all is a
    legitimate day only when no trade is pending: otherwise the shards did not write.
    """
    problems = _foreign_rows(summary, plan.model_version, plan.scoring_run_id)
    if summary["row_count"] == 0:
        pending = conn.execute(
            read_sql("scoring/pending_trades_exist.sql"), {"business_date": plan.business_date}
        )
        if pending.fetchone()["pending"]:
            problems.append("no scores at all, but trades are pending on the date")
    if problems:
        next_table = contract.next_partition_name(plan.business_date)
        raise SwapError(
            f"not swapping {plan.business_date} into ml.trade_scores (ml.{next_table}: "
            + "; ".join(problems)
            + "): nothing was changed; rerun the whole run"
        )


def _foreign_rows(summary: dict[str, Any], model_version: str, scoring_run_id: str) -> list[str]:
    """What in a swapped partition's summary is not the run's own: another model version's rows,
    another scoring run's."""
    problems = []
    if summary["model_versions"] not in ([], [model_version]):
        problems.append(f"model versions {summary['model_versions']}, expected {model_version}")
    if summary["scoring_run_ids"] not in ([], [scoring_run_id]):
        problems.append(
            f"rows written by scoring runs {summary['scoring_run_ids']}, expected {scoring_run_id}"
        )
    return problems
