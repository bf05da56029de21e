"""Champion and challenger compared on the same trades, as their outcomes become known.

Each night the scoring run scores the ``challenger`` beside the champion into ml.shadow_scores
(settlement_model.score_job). ``compare`` then takes every date scored in shadow within the
lookback, up to the run's date, joins both models' scores of its trades with the outcomes known
by that date, and writes one row per date and model pair to ml.shadow_comparisons: ROC AUC,
PR AUC, Brier score and calibration error of each model (settlement_model.metrics, the
evaluation's own), the trades scored, realised and failed. A date's row improves night after
night as its trades settle; one computed with fewer known outcomes (a backfill of an earlier
night) never replaces it. The promotion gate reads these rows (training/promotion.py).

One date at a time: memory holds one date's scores, whatever the lookback.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from settlement_model.metrics import GATE_METRICS, gate_metric

from include.markets_ops.services import postgres
from include.markets_ops.services.sql_files import read_sql

log = logging.getLogger(__name__)

LOOKBACK_VARIABLE = "model_shadow_lookback_days"
DEFAULT_LOOKBACK_DAYS = 30  # calendar days: about 20 business days of a challenger's nights
STATEMENT_TIMEOUT = "5min"


def comparison(rows: list[dict[str, Any]], business_date: dt.date, known_by: dt.date) -> list[dict[str, Any]]:
    """One row per (champion, challenger) pair scored on the date: counts, and each model's
    metrics on the realised trades (None where they are undefined: no outcome known yet, or
    outcomes of one kind only)."""
    pairs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        pairs.setdefault((row["model_name"], row["champion_version"], row["challenger_version"]), []).append(
            row
        )
    return [_compared(pair, trades, business_date, known_by) for pair, trades in sorted(pairs.items())]


def _compared(
    pair: tuple[str, str, str], trades: list[dict[str, Any]], business_date: dt.date, known_by: dt.date
) -> dict[str, Any]:
    model_name, champion, challenger = pair
    realised = [t for t in trades if t["failed"] is not None]
    labels = [int(t["failed"]) for t in realised]
    fails = sum(labels)
    compared: dict[str, Any] = {
        "business_date": business_date,
        "model_name": model_name,
        "champion_version": champion,
        "challenger_version": challenger,
        "scored_trades": len(trades),
        "realised_trades": len(realised),
        "fails": fails,
        "outcomes_known_by": known_by,
    }
    for model in ("champion", "challenger"):
        scores = [t[f"{model}_score"] for t in realised]
        for metric in GATE_METRICS:
            compared[f"{model}_{metric}"] = _defined(metric, labels, scores)
    return compared


def _defined(metric: str, labels: list[int], scores: list[float]) -> float | None:
    """The metric, or None where it says nothing: no realised trade, or (ranking and calibration)
    one outcome only."""
    if not labels:
        return None
    value = gate_metric(metric, labels, scores)
    return None if math.isnan(value) else value  # NaN: one outcome only


def compare(
    database_url: str, known_by: dt.date, lookback_days: int = DEFAULT_LOOKBACK_DAYS
) -> list[dict[str, Any]]:
    """Recompute the comparisons of every shadow date in (known_by - lookback_days, known_by],
    with the outcomes known by ``known_by``, in one transaction. Returns the rows written."""
    from psycopg.rows import dict_row

    since = known_by - dt.timedelta(days=lookback_days)
    written = []
    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (STATEMENT_TIMEOUT,))
        dates = [
            row["business_date"]
            for row in conn.execute(
                read_sql("shadow/shadow_dates.sql"), {"since": since, "known_by": known_by}
            )
        ]
        for business_date in dates:
            rows = conn.execute(
                read_sql("shadow/shadow_outcomes.sql"), {"business_date": business_date, "known_by": known_by}
            ).fetchall()
            for row in comparison(rows, business_date, known_by):
                conn.execute(read_sql("shadow/upsert_shadow_comparison.sql"), row)
                written.append(row)
    log.info("shadow comparisons of %d dates, outcomes known by %s", len(dates), known_by)
    return written


def evidence(
    database_url: str, model_name: str, challenger_version: str, champion_version: str, max_days: int = 60
) -> list[dict[str, Any]]:
    """The challenger's comparisons beside this champion, latest first (JSON-ready)."""
    from psycopg.rows import dict_row

    params = {
        "model_name": model_name,
        "challenger_version": challenger_version,
        "champion_version": champion_version,
        "max_days": max_days,
    }
    with postgres.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute(read_sql("shadow/shadow_evidence.sql"), params).fetchall()
    return [
        {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in row.items()}
        for row in rows
    ]
