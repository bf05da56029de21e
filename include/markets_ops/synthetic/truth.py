"""Writing the ground truth to the synthetic schema (as the upstream_feed role).

The world's configuration, the counterparties' hidden fail propensities, and per business
date: each trade's true fail probability and drawn outcome, the breaks injected into the
custodian statement, the malformed rows injected into the files. A date's truth is replaced
as a whole in one transaction, so reruns never duplicate it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa

from include.markets_ops.feed import landing
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.synthetic import reference
from include.markets_ops.synthetic.config import GeneratorConfig

WORLD_NAME = "default"
STATEMENT_TIMEOUT = "10min"


class WorldMismatchError(RuntimeError):
    """The warehouse already holds a different synthetic world."""


def load_config(connection: Any, name: str = WORLD_NAME) -> GeneratorConfig | None:
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(read_sql("synthetic/load_config.sql"), {"name": name})
        row = cursor.fetchone()
    return GeneratorConfig.from_json(row[0]) if row else None


def save_config(connection: Any, config: GeneratorConfig, name: str = WORLD_NAME) -> None:
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(
            read_sql("synthetic/save_config.sql"),
            {
                "name": name,
                "seed": config.seed,
                "epoch": config.epoch,
                "trades_per_day": config.trades_per_day,
                "parameters": json.dumps(config.to_json(), sort_keys=True),
            },
        )


def ensure_world(connection: Any, requested: GeneratorConfig) -> GeneratorConfig:
    """The stored world if it is the requested one; store the requested one if none is.

    Refuses a different world (another seed, volume or rate, or another epoch): its days
    would not fit the rows already loaded. Start over with ``python -m
    include.markets_ops.synthetic reset``.
    """
    stored = load_config(connection)
    if stored is None:
        save_config(connection, requested)
        return requested
    if stored != requested:
        raise WorldMismatchError(
            f"the warehouse holds another synthetic world ({describe(stored)}) than the one requested "
            f"({describe(requested)}). Reset it first: python -m include.markets_ops.synthetic reset --yes"
        )
    return stored


def describe(config: GeneratorConfig) -> str:
    return f"seed {config.seed}, epoch {config.epoch}, {config.trades_per_day} trades/day"


def write_profiles(connection: Any, config: GeneratorConfig) -> int:
    ref = reference.of(config)
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(
            read_sql("synthetic/set_statement_timeout.sql"), {"statement_timeout": STATEMENT_TIMEOUT}
        )
        cursor.execute(
            read_sql("synthetic/upsert_profiles.sql"),
            {
                "counterparty_ids": [str(cp) for cp in ref.counterparty_id],
                "fail_propensities": [float(value) for value in ref.counterparty_propensity],
            },
        )
    return ref.counterparty_count


def write_day(
    connection: Any,
    business_date: dt.date,
    fail_probabilities: pa.Table,
    injected_breaks: pa.Table,
    injected_bad_rows: pa.Table | None,
) -> dict[str, int]:
    """Replace the truth of ``business_date`` (bad rows: none when the files were clean)."""
    parameters = {"business_date": business_date, "statement_timeout": STATEMENT_TIMEOUT}
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(read_sql("synthetic/set_statement_timeout.sql"), parameters)
        for name in ("fail_probabilities", "injected_breaks", "injected_bad_rows"):
            cursor.execute(read_sql(f"synthetic/delete_{name}.sql"), parameters)
        _copy(cursor, "synthetic/copy_fail_probabilities.sql", fail_probabilities)
        _copy(cursor, "synthetic/copy_injected_breaks.sql", injected_breaks)
        if injected_bad_rows is not None and injected_bad_rows.num_rows:
            _copy(cursor, "synthetic/copy_injected_bad_rows.sql", injected_bad_rows)
    return {
        "trade_fail_probability": fail_probabilities.num_rows,
        "injected_breaks": injected_breaks.num_rows,
        "injected_bad_rows": injected_bad_rows.num_rows if injected_bad_rows is not None else 0,
    }


def _copy(cursor: Any, statement: str, table: pa.Table) -> None:
    with cursor.copy(read_sql(statement)) as copy:
        for chunk in landing.csv_chunks(table):
            copy.write(chunk)
