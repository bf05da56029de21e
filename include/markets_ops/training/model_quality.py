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
from typing import Any

from include.markets_ops.services import postgres
from include.markets_ops.services.sql_files import read_sql

MAX_SETTLEMENT_HORIZON_DAYS = 31  # the features' own bound: a pending trade was booked within it


def ground_truth_report(
    predictions: Any, truth: Any, labels_column: str = "failed", score_column: str = "challenger_score"
) -> dict[str, float]:
    """ROC AUC of the model and of the true probabilities on the rows both cover."""
    from sklearn.metrics import roc_auc_score

    # The truth's own outcome column, named apart whatever the predictions' label is called.
    truth = truth[["trade_id", "p_fail", "failed"]].rename(columns={"failed": "failed_truth"})
    joined = predictions.merge(truth, on="trade_id", how="inner")
    if joined.empty:
        raise ValueError("no evaluation row has a ground-truth probability")
    model_auc = float(roc_auc_score(joined[labels_column], joined[score_column]))
    bayes_auc = float(roc_auc_score(joined[labels_column], joined["p_fail"]))
    return {
        "ground_truth_rows": float(len(joined)),
        "ground_truth_coverage": float(len(joined) / len(predictions)),
        "ground_truth_label_agreement": float((joined[labels_column] == joined["failed_truth"]).mean()),
        "ground_truth_model_roc_auc": model_auc,
        "ground_truth_bayes_roc_auc": bayes_auc,
        "ground_truth_auc_gap": bayes_auc - model_auc,
    }


def read_truth(upstream_database_url: str, first: dt.date, last: dt.date) -> Any:
    import pandas as pd

    buffer = io.BytesIO()
    with postgres.connect(upstream_database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', '10min', true)")
        # COPY takes no server-side parameters: psycopg binds these client-side, quoting them.
        truth_sql = read_sql("synthetic/trade_fail_probability_between.sql")
        query = f"COPY ({truth_sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with cur.copy(query, {"first_booking_date": first, "last_booking_date": last}) as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    truth = pd.read_csv(buffer, dtype={"trade_id": "string"})
    truth["failed"] = truth["failed"].map({"t": True, "f": False})
    return truth


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
    import pandas as pd

    body = s3.get_object(Bucket=bucket, Key=predictions_key)["Body"].read()
    predictions = pd.read_parquet(io.BytesIO(body))
    window = evaluation["window"]
    first = dt.date.fromisoformat(window["start"]) - dt.timedelta(days=MAX_SETTLEMENT_HORIZON_DAYS)
    truth = read_truth(upstream_database_url, first, dt.date.fromisoformat(window["end"]))
    if not predictions["trade_id"].isin(truth["trade_id"]).any():
        return {"available": False, "reason": "no ground truth for the evaluation window's trades"}
    report = ground_truth_report(predictions, truth)
    run_id = mlflow_client.get_model_version(model_name, version).run_id
    for key, value in report.items():
        mlflow_client.log_metric(run_id, key, value)
    for key in ("ground_truth_bayes_roc_auc", "ground_truth_auc_gap"):
        mlflow_client.set_model_version_tag(model_name, version, key, f"{report[key]:.6f}")
    return {**report, "model_version": version, "mlflow_run_id": run_id}
