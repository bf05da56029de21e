"""Model quality against the synthetic ground truth: how far from the best possible model.

The data generator records every trade's true fail probability (synthetic.trade_fail_probability).
Ranking the evaluation window's rows by that probability gives the Bayes-optimal ROC AUC: what
a perfect model of the generating process would reach on the same outcomes. The gap between
it and the challenger's ROC AUC on the same rows is the model's real shortfall, independent
of how noisy the outcomes are. Reported per training run (MLflow metrics and version tags).

Only this report reads the ground truth, with the upstream simulator's role; no pipeline role
can (docs/architecture.md). Where no ground truth exists (production), it reports that.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import Any

from include.markets_ops.services import copy_csv, postgres
from include.markets_ops.services.sql_files import read_sql

MAX_SETTLEMENT_HORIZON_DAYS = 31  # the features' own bound: a pending trade was booked within it


class NoGroundTruthError(ValueError):
    """No evaluated row has a ground-truth probability (the window's trades are not the world's)."""


TRUTH_BLOCK_BYTES = 64 * 2**20  # CSV parsed per block: about 1.5 million truth rows at a time
TRUTH_COLUMN_TYPES = {"trade_id": "string", "p_fail": "float64", "failed": "bool"}


def ground_truth_report(
    predictions: Any,
    truth_batches: Iterable[Any],
    labels_column: str = "failed",
    score_column: str = "challenger_score",
) -> dict[str, float]:
    """ROC AUC of the model and of the true probabilities on the rows both cover.

    ``predictions``: an Arrow table (trade_id, the label, the score), a row per evaluated (as-of
    date, trade); ``truth_batches``: Arrow record batches of (trade_id, p_fail, failed), read
    one at a time, so that memory grows with the evaluation window only, never with the truth's
    range (at a million trades a day, tens of millions of rows)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    p_fail, truth_failed, covered = truth_of(predictions.column("trade_id"), truth_batches)
    if not covered.any():
        raise NoGroundTruthError("no evaluation row has a ground-truth probability")
    labels = np.asarray(predictions.column(labels_column).to_numpy(zero_copy_only=False), dtype=bool)[covered]
    scores = predictions.column(score_column).to_numpy(zero_copy_only=False)[covered]
    model_auc = float(roc_auc_score(labels, scores))
    bayes_auc = float(roc_auc_score(labels, p_fail[covered]))
    return {
        "ground_truth_rows": float(covered.sum()),
        "ground_truth_coverage": float(covered.mean()),
        "ground_truth_label_agreement": float((labels == truth_failed[covered]).mean()),
        "ground_truth_model_roc_auc": model_auc,
        "ground_truth_bayes_roc_auc": bayes_auc,
        "ground_truth_auc_gap": bayes_auc - model_auc,
    }


def truth_of(trade_ids: Any, truth_batches: Iterable[Any]) -> tuple[Any, Any, Any]:
    """For each prediction row: the truth's p_fail and drawn outcome of its trade, and whether
    the truth has the trade at all. Each truth batch is looked up in turn (a hash of the batch's
    trade ids, probed by every prediction row) and then let go."""
    import numpy as np
    import pyarrow.compute as pc

    rows = len(trade_ids)
    p_fail = np.full(rows, np.nan)
    failed = np.zeros(rows, dtype=bool)
    covered = np.zeros(rows, dtype=bool)
    for batch in truth_batches:
        positions = pc.index_in(trade_ids, value_set=batch.column("trade_id").cast(trade_ids.type))
        found = positions.is_valid().to_numpy(zero_copy_only=False)
        at = positions.fill_null(0).to_numpy()[found]
        p_fail[found] = batch.column("p_fail").to_numpy(zero_copy_only=False)[at]
        failed[found] = batch.column("failed").to_numpy(zero_copy_only=False)[at]
        covered |= found
    return p_fail, failed, covered


def read_truth(
    upstream_database_url: str, first: dt.date, last: dt.date, block_bytes: int = TRUTH_BLOCK_BYTES
) -> Iterator[Any]:
    """The truth of the trades booked in [first, last], as Arrow record batches, parsed block by
    block as PostgreSQL sends it (never the whole range in memory)."""
    with postgres.connect(upstream_database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', '10min', true)")
        truth_sql = read_sql("synthetic/trade_fail_probability_between.sql")
        parameters = {"first_booking_date": first, "last_booking_date": last}
        yield from copy_csv.copy_batches(cur, truth_sql, parameters, TRUTH_COLUMN_TYPES, block_bytes)


def parse_truth_csv(chunks: Iterable[bytes], block_bytes: int = TRUTH_BLOCK_BYTES) -> Iterator[Any]:
    """Record batches of the truth's CSV (a header, then trade_id, p_fail, failed as t/f), parsed
    a block at a time from the chunks as they arrive."""
    return copy_csv.csv_batches(chunks, TRUTH_COLUMN_TYPES, block_bytes)


def report_for_version(
    mlflow_client: Any,
    s3: Any,
    *,
    bucket: str,
    upstream_database_url: str,
    model_name: str,
    version: str,
    evaluation: dict[str, Any],
    predictions_key: str,
) -> dict[str, Any]:
    """Compute the report for an evaluated version, log it on its MLflow run and tag the version."""
    import pyarrow.parquet as pq

    body = s3.get_object(Bucket=bucket, Key=predictions_key)["Body"].read()
    predictions = pq.read_table(io.BytesIO(body), columns=["trade_id", "failed", "challenger_score"])
    del body
    window = evaluation["window"]
    first = dt.date.fromisoformat(window["start"]) - dt.timedelta(days=MAX_SETTLEMENT_HORIZON_DAYS)
    truth = read_truth(upstream_database_url, first, dt.date.fromisoformat(window["end"]))
    try:
        report = ground_truth_report(predictions, truth)
    except NoGroundTruthError:
        return {"available": False, "reason": "no ground truth for the evaluation window's trades"}
    run_id = mlflow_client.get_model_version(model_name, version).run_id
    for key, value in report.items():
        mlflow_client.log_metric(run_id, key, value)
    for key in ("ground_truth_bayes_roc_auc", "ground_truth_auc_gap"):
        mlflow_client.set_model_version_tag(model_name, version, key, f"{report[key]:.6f}")
    return {**report, "model_version": version, "mlflow_run_id": run_id}
