"""Champion and challenger compared on the same trades, as their outcomes become known.

Each night the scoring run scores the ``challenger`` beside the champion into ml.shadow_scores
(settlement_model.score_job). ``compare`` then takes every date scored in shadow within the
lookback, up to the run's date, joins both models' scores of its trades with the outcomes known
by that date, and writes one row per date and model pair to ml.shadow_comparisons: ROC AUC,
PR AUC, Brier score and calibration error of each model (settlement_model.metrics, the
evaluation's own), the trades scored, realised and failed. A date's row improves night after
night as its trades settle; one computed with fewer known outcomes (a backfill of an earlier
night) never replaces it. A date whose row is final (every trade realised, its scores and inputs
unchanged since) is not read again. The promotion gate reads these rows (training/promotion.py).

One date at a time: memory holds one date's scores, whatever the lookback.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from settlement_model.metrics import GATE_METRICS, gate_metric

from include.markets_ops.services import copy_csv, postgres
from include.markets_ops.services.sql_files import read_sql

log = logging.getLogger(__name__)

LOOKBACK_VARIABLE = "model_shadow_lookback_days"
DEFAULT_LOOKBACK_DAYS = 30  # calendar days: about 20 business days of a challenger's nights
STATEMENT_TIMEOUT = "5min"


Pair = tuple[str, str, str]  # (model name, champion version, challenger version)
PAIR_COLUMNS = ("model_name", "champion_version", "challenger_version")
# shadow_outcomes.sql's columns, as Arrow reads them (services/copy_csv.py).
OUTCOME_COLUMN_TYPES = {
    "model_name": "string",
    "champion_version": "string",
    "challenger_version": "string",
    "champion_score": "float64",
    "challenger_score": "float64",
    "failed": "bool",
}


class _Columns:
    """A pair's trades, kept as the metrics need them: how many were scored, and the realised
    ones' scores (8 bytes each) and outcomes (1 byte), a block of rows at a time. The date's
    unrealised trades (on its first night, nearly all) are only counted."""

    def __init__(self) -> None:
        self.scored = 0
        self.champion: list[Any] = []
        self.challenger: list[Any] = []
        self.failed: list[Any] = []

    def extend(self, rows: Any) -> None:
        """Add a record batch of shadow_outcomes.sql's rows (all of this pair)."""
        import numpy as np

        realised = rows.column("failed").is_valid()
        known = rows.filter(realised)
        self.scored += rows.num_rows
        self.champion.append(known.column("champion_score").to_numpy(zero_copy_only=False))
        self.challenger.append(known.column("challenger_score").to_numpy(zero_copy_only=False))
        self.failed.append(known.column("failed").to_numpy(zero_copy_only=False).astype(np.int8))


def comparison(batches: Iterable[Any], business_date: dt.date, known_by: dt.date) -> list[dict[str, Any]]:
    """One row per (champion, challenger) pair scored on the date, from record batches of
    shadow_outcomes.sql's rows (OUTCOME_COLUMN_TYPES): counts, and each model's metrics on the
    realised trades (None where they are undefined: no outcome known yet, or outcomes of one
    kind only)."""
    pairs: dict[Pair, _Columns] = {}
    for batch in batches:
        for pair, rows in _by_pair(batch):
            pairs.setdefault(pair, _Columns()).extend(rows)
    return [_compared(pair, columns, business_date, known_by) for pair, columns in sorted(pairs.items())]


def _by_pair(batch: Any) -> Iterator[tuple[Pair, Any]]:
    """The batch's rows of each (model, champion, challenger) pair: nearly always one pair, the
    whole batch (a date's scoring run shadows one challenger)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pairs = pa.Table.from_batches([batch]).select(PAIR_COLUMNS).group_by(list(PAIR_COLUMNS)).aggregate([])
    if pairs.num_rows == 1:
        yield tuple(pairs.column(name)[0].as_py() for name in PAIR_COLUMNS), batch
        return
    for values in pairs.to_pylist():
        pair = tuple(values[name] for name in PAIR_COLUMNS)
        selected = [pc.equal(batch.column(name), values[name]) for name in PAIR_COLUMNS]
        yield pair, batch.filter(pc.and_(pc.and_(selected[0], selected[1]), selected[2]))


def _compared(pair: Pair, columns: _Columns, business_date: dt.date, known_by: dt.date) -> dict[str, Any]:
    import numpy as np

    model_name, champion, challenger = pair
    labels = np.concatenate(columns.failed)
    compared: dict[str, Any] = {
        "business_date": business_date,
        "model_name": model_name,
        "champion_version": champion,
        "challenger_version": challenger,
        "scored_trades": columns.scored,
        "realised_trades": int(labels.size),
        "fails": int(labels.sum()),
        "outcomes_known_by": known_by,
    }
    for model, scores in (("champion", columns.champion), ("challenger", columns.challenger)):
        realised_scores = np.concatenate(scores)
        for metric in GATE_METRICS:
            compared[f"{model}_{metric}"] = _defined(metric, labels, realised_scores)
    return compared


def _defined(metric: str, labels: Any, scores: Any) -> float | None:
    """The metric, or None where it says nothing: no realised trade, or (ranking and calibration)
    one outcome only."""
    if len(labels) == 0:
        return None
    value = gate_metric(metric, labels, scores)
    return None if math.isnan(value) else value  # NaN: one outcome only


@dataclass
class Comparisons:
    """What one ``compare`` did: the rows it wrote, and the dates it left alone as final."""

    written: list[dict[str, Any]] = field(default_factory=list)
    final_dates: list[dt.date] = field(default_factory=list)


def compare(database_url: str, known_by: dt.date, lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> Comparisons:
    """Recompute the comparisons of the shadow dates in (known_by - lookback_days, known_by],
    with the outcomes known by ``known_by``, in one transaction; a date whose stored comparison
    is final (comparison_is_final.sql: every trade realised, the same scores, no input reloaded
    since) is not read again. A row that knows fewer outcomes than the stored one is not written."""
    from psycopg.rows import dict_row

    since = known_by - dt.timedelta(days=lookback_days)
    done = Comparisons()
    with postgres.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (STATEMENT_TIMEOUT,))
        dates = [
            row["business_date"]
            for row in conn.execute(
                read_sql("shadow/shadow_dates.sql"), {"since": since, "known_by": known_by}
            )
        ]
        for business_date in dates:
            day = {"business_date": business_date}
            if conn.execute(read_sql("shadow/comparison_is_final.sql"), day).fetchone()["final"]:
                done.final_dates.append(business_date)
                continue
            inputs = conn.execute(read_sql("shadow/comparison_inputs.sql"), day).fetchone()
            for row in comparison(_outcome_batches(conn, business_date, known_by), business_date, known_by):
                upsert = conn.execute(read_sql("shadow/upsert_shadow_comparison.sql"), {**row, **inputs})
                if upsert.fetchone():
                    done.written.append(row)
    log.info(
        "shadow comparisons of %d dates, outcomes known by %s: %d written, %d dates final (not read again)",
        len(dates),
        known_by,
        len(done.written),
        len(done.final_dates),
    )
    return done


def _outcome_batches(conn: Any, business_date: dt.date, known_by: dt.date) -> Iterator[Any]:
    """The date's rows of shadow_outcomes.sql as Arrow record batches, streamed by COPY."""
    params = {"business_date": business_date, "known_by": known_by}
    with conn.cursor() as cursor:
        yield from copy_csv.copy_batches(
            cursor, read_sql("shadow/shadow_outcomes.sql"), params, OUTCOME_COLUMN_TYPES
        )


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
