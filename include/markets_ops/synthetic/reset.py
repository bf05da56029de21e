"""Deleting a synthetic world and everything loaded from it (a development tool).

The writer role deletes the pipeline's copies (ops.*, the feed's quarantine); the
upstream_feed role deletes the truth (synthetic.*). Tables other pipelines derive from the
data (scores, breaks, alerts, promotions) are theirs and are left alone.
"""

from __future__ import annotations

from typing import Any

# Children before parents (foreign keys). A fixed allow-list: the only identifiers used.
OPS_TABLES = (
    ("ops", "counterparty_settlement_days"),
    ("ops", "settlement_outcomes"),
    ("ops", "custodian_confirmations"),
    ("ops", "trades"),
    ("ops", "settlement_instructions"),
    ("ops", "instruments"),
    ("ops", "counterparties"),
    ("ops", "currencies"),
    ("reporting", "quarantine"),
)
SYNTHETIC_TABLES = (
    ("synthetic", "trade_fail_probability"),
    ("synthetic", "injected_breaks"),
    ("synthetic", "injected_bad_rows"),
    ("synthetic", "counterparty_profiles"),
    ("synthetic", "simulation_config"),
)


def reset(writer: Any, upstream: Any) -> dict[str, int]:
    deleted = _delete_all(upstream, SYNTHETIC_TABLES)
    deleted.update(_delete_all(writer, OPS_TABLES))
    return deleted


def _delete_all(connection: Any, names: tuple[tuple[str, str], ...]) -> dict[str, int]:
    from psycopg import sql

    counts = {}
    with connection.transaction(), connection.cursor() as cursor:
        for schema, table in names:
            cursor.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table)))
            counts[f"{schema}.{table}"] = cursor.rowcount
    return counts
