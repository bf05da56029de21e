"""Model quality metrics: ranking (ROC AUC, PR AUC, top-k), probability quality (Brier, calibration)."""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_TOP_K_FRACTION = 0.05  # operations can chase about the riskiest 5% of pending trades
CALIBRATION_BINS = 10


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
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = np.asarray(labels, dtype="int8")
    scores = np.asarray(scores, dtype="float64")
    positives = int(labels.sum())
    if positives in (0, labels.size):
        raise ValueError(f"need both outcomes to measure quality: {positives} fails in {labels.size} rows")
    precision, recall, k = top_k(labels, scores, top_k_fraction)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "brier": float(brier_score_loss(labels, scores)),
        "calibration_error": expected_calibration_error(labels, scores),
        "precision_at_top_k": precision,
        "recall_at_top_k": recall,
        "top_k": float(k),
        "rows": float(labels.size),
        "positives": float(positives),
        "fail_rate": float(positives / labels.size),
        "mean_score": float(scores.mean()),
    }
