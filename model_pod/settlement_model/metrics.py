"""Model quality metrics: ranking (ROC AUC, PR AUC, top-k), probability quality (Brier, calibration)."""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_TOP_K_FRACTION = 0.05  # operations can chase about the riskiest 5% of pending trades
CALIBRATION_BINS = 10
# The metrics the promotion gate reads, and whether greater is better (MLflow's MetricThreshold
# direction). The evaluate job computes them through mlflow.models.evaluate (mlflow_metrics).
GATE_METRICS = {"roc_auc": True, "pr_auc": True, "brier": False, "calibration_error": False}


def gate_metric(name: str, labels: Any, scores: Any) -> float:
    """One of GATE_METRICS; NaN where one outcome only is given (MLflow tries each metric on the
    first row alone before the whole set)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = np.asarray(labels, dtype="int8")
    scores = np.asarray(scores, dtype="float64")
    if name == "brier":
        return float(brier_score_loss(labels, scores))
    if labels.min() == labels.max():
        return float("nan")
    if name == "roc_auc":
        return float(roc_auc_score(labels, scores))
    if name == "pr_auc":
        return float(average_precision_score(labels, scores))
    if name == "calibration_error":
        return expected_calibration_error(labels, scores)
    raise ValueError(f"unknown gate metric {name!r}: one of {sorted(GATE_METRICS)}")


def mlflow_metrics() -> list[Any]:
    """GATE_METRICS as MLflow evaluation metrics (``make_metric``), for ``mlflow.models.evaluate``
    on a dataset whose targets are the labels and whose predictions are the scores."""
    from mlflow.models import make_metric

    def metric(name: str) -> Any:
        def eval_fn(predictions: Any, targets: Any) -> float:
            return gate_metric(name, targets, predictions)

        return make_metric(eval_fn=eval_fn, greater_is_better=GATE_METRICS[name], name=name)

    return [metric(name) for name in GATE_METRICS]


def expected_calibration_error(labels: Any, scores: Any, bins: int = CALIBRATION_BINS) -> float:
    """Mean |observed fail rate - mean score| over equal-count score bins, weighted by size.

    Equal-count bins because scores concentrate near zero: equal-width bins would put
    almost every trade in the first bin and say little.
    """
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    if labels.size == 0:
        raise ValueError("no rows to compute a calibration error on")
    order = np.argsort(scores, kind="stable")
    error = 0.0
    for part in np.array_split(order, min(bins, labels.size)):
        error += part.size * abs(labels[part].mean() - scores[part].mean())
    return float(error / labels.size)


def calibration_curve(
    labels: Any, scores: Any, bins: int = CALIBRATION_BINS
) -> tuple[np.ndarray, np.ndarray]:
    """(mean score, observed rate) per equal-count bin, for the calibration plot."""
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    order = np.argsort(scores, kind="stable")
    parts = np.array_split(order, min(bins, labels.size))
    return (
        np.array([scores[p].mean() for p in parts]),
        np.array([labels[p].mean() for p in parts]),
    )


def top_k(labels: Any, scores: Any, fraction: float = DEFAULT_TOP_K_FRACTION) -> tuple[float, float, int]:
    """(precision, recall, k) when the k = fraction x n highest-scored rows are flagged."""
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    k = max(1, round(fraction * labels.size))
    # Stable sort on the negated scores: ties keep row order, so the metric is reproducible.
    flagged = np.argsort(-scores, kind="stable")[:k]
    hits = labels[flagged].sum()
    positives = labels.sum()
    return float(hits / k), float(hits / positives) if positives else 0.0, int(k)


def quality(labels: Any, scores: Any, top_k_fraction: float = DEFAULT_TOP_K_FRACTION) -> dict[str, float]:
    """Every metric the gate and the MLflow run report, for one set of predictions."""
    labels = np.asarray(labels, dtype="int8")
    scores = np.asarray(scores, dtype="float64")
    positives = int(labels.sum())
    if positives in (0, labels.size):
        raise ValueError(f"need both outcomes to measure quality: {positives} fails in {labels.size} rows")
    precision, recall, k = top_k(labels, scores, top_k_fraction)
    return {
        **{name: gate_metric(name, labels, scores) for name in GATE_METRICS},
        "precision_at_top_k": precision,
        "recall_at_top_k": recall,
        "top_k": float(k),
        "rows": float(labels.size),
        "positives": float(positives),
        "fail_rate": float(positives / labels.size),
        "mean_score": float(scores.mean()),
    }
