"""Model quality metrics: ranking (ROC AUC, PR AUC, top-k), probability quality (Brier, calibration)."""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_TOP_K_FRACTION = 0.05  # operations can chase about the riskiest 5% of pending trades
CALIBRATION_BINS = 10
# The metrics the promotion gate reads, and whether greater is better (MLflow's MetricThreshold
# direction). The evaluate job computes them through mlflow.models.evaluate (mlflow_metrics).
GATE_METRICS = {"roc_auc": True, "pr_auc": True, "brier": False, "calibration_error": False}


def gate_metric(name: str, labels: Any, scores: Any, weights: Any = None) -> float:
    """One of GATE_METRICS; NaN where one outcome only is given (MLflow tries each metric on the
    first row alone before the whole set). ``weights``: each row counts that many times (a
    sampled training window's ``sample_weight``)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = np.asarray(labels, dtype="int8")
    scores = np.asarray(scores, dtype="float64")
    if name == "brier":
        return float(brier_score_loss(labels, scores, sample_weight=weights))
    if labels.min() == labels.max():
        return float("nan")
    if name == "roc_auc":
        return float(roc_auc_score(labels, scores, sample_weight=weights))
    if name == "pr_auc":
        return float(average_precision_score(labels, scores, sample_weight=weights))
    if name == "calibration_error":
        return expected_calibration_error(labels, scores, weights=weights)
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


def expected_calibration_error(
    labels: Any, scores: Any, bins: int = CALIBRATION_BINS, weights: Any = None
) -> float:
    """Mean |observed fail rate - mean score| over equal-count score bins, weighted by size.

    Equal-count bins because scores concentrate near zero: equal-width bins would put
    almost every trade in the first bin and say little. With ``weights``, bins of equal total
    weight and weighted means.
    """
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    if labels.size == 0:
        raise ValueError("no rows to compute a calibration error on")
    order = np.argsort(scores, kind="stable")
    if weights is not None:
        return _weighted_calibration_error(labels[order], scores[order], np.asarray(weights)[order], bins)
    error = 0.0
    for part in np.array_split(order, min(bins, labels.size)):
        error += part.size * abs(labels[part].mean() - scores[part].mean())
    return float(error / labels.size)


def _weighted_calibration_error(labels: Any, scores: Any, weights: Any, bins: int) -> float:
    """The same over rows sorted by score, in bins of equal total weight."""
    weights = np.asarray(weights, dtype="float64")
    before = np.cumsum(weights) - weights  # each row's bin is where its weight starts
    bin_of_row = np.minimum((before / weights.sum() * bins).astype(np.int64), bins - 1)
    error = 0.0
    for index in np.unique(bin_of_row):
        part = bin_of_row == index
        weight = weights[part].sum()
        observed = np.average(labels[part], weights=weights[part])
        error += weight * abs(observed - np.average(scores[part], weights=weights[part]))
    return float(error / weights.sum())


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


def top_k(
    labels: Any, scores: Any, fraction: float = DEFAULT_TOP_K_FRACTION, weights: Any = None
) -> tuple[float, float, float]:
    """(precision, recall, k) when the k = fraction x n highest-scored rows are flagged. With
    ``weights``, n and k count weight: the rows flagged are those whose weight starts within
    the first fraction of the total."""
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    if weights is not None:
        weights = np.asarray(weights, dtype="float64")
        order = np.argsort(-scores, kind="stable")
        before = np.cumsum(weights[order]) - weights[order]
        flagged_rows = order[before < fraction * weights.sum()]
        flagged = weights[flagged_rows].sum()
        hits = (labels[flagged_rows] * weights[flagged_rows]).sum()
        positives = (labels * weights).sum()
        return float(hits / flagged), float(hits / positives) if positives else 0.0, float(flagged)
    k = max(1, round(fraction * labels.size))
    # Stable sort on the negated scores: ties keep row order, so the metric is reproducible.
    flagged = np.argsort(-scores, kind="stable")[:k]
    hits = labels[flagged].sum()
    positives = labels.sum()
    return float(hits / k), float(hits / positives) if positives else 0.0, int(k)


def quality(
    labels: Any, scores: Any, top_k_fraction: float = DEFAULT_TOP_K_FRACTION, weights: Any = None
) -> dict[str, float]:
    """Every metric the gate and the MLflow run report, for one set of predictions. With
    ``weights`` (a sampled window), estimates for the whole window: counts and rates weighted."""
    labels = np.asarray(labels, dtype="int8")
    scores = np.asarray(scores, dtype="float64")
    positives = int(labels.sum())
    if positives in (0, labels.size):
        raise ValueError(f"need both outcomes to measure quality: {positives} fails in {labels.size} rows")
    counts = np.ones(labels.size) if weights is None else np.asarray(weights, dtype="float64")
    precision, recall, k = top_k(labels, scores, top_k_fraction, weights)
    return {
        **{name: gate_metric(name, labels, scores, weights) for name in GATE_METRICS},
        "precision_at_top_k": precision,
        "recall_at_top_k": recall,
        "top_k": float(k),
        "rows": float(counts.sum()),
        "positives": float(counts[labels == 1].sum()),
        "fail_rate": float(np.average(labels, weights=counts)),
        "mean_score": float(np.average(scores, weights=counts)),
    }
