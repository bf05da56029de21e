"""Quality metrics, checked on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from settlement_model import metrics
from sklearn.metrics import roc_auc_score


def test_a_perfectly_calibrated_model_has_no_calibration_error() -> None:
    scores = np.repeat([0.1, 0.5], 10)
    labels = np.array([1] + [0] * 9 + [1] * 5 + [0] * 5)
    assert metrics.expected_calibration_error(labels, scores, bins=2) == pytest.approx(0.0)


def test_calibration_error_is_the_size_weighted_gap_per_bin() -> None:
    scores = np.repeat([0.2, 0.6], 10)  # two bins of ten rows
    labels = np.array([0] * 10 + [1] * 10)  # observed 0.0 and 1.0
    assert metrics.expected_calibration_error(labels, scores, bins=2) == pytest.approx((0.2 + 0.4) / 2)


def test_top_k_precision_and_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.05, 0.04, 0.03, 0.02])
    labels = np.array([1, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    precision, recall, k = metrics.top_k(labels, scores, fraction=0.3)
    assert k == 3
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)


def test_quality_reports_every_metric_and_agrees_with_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    scores = rng.random(2000)
    labels = (rng.random(2000) < scores * 0.2).astype(int)
    quality = metrics.quality(labels, scores)
    assert quality["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert quality["positives"] == labels.sum()
    assert set(quality) >= {
        "roc_auc",
        "pr_auc",
        "brier",
        "calibration_error",
        "precision_at_top_k",
        "recall_at_top_k",
    }


def test_quality_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="need both outcomes"):
        metrics.quality(np.zeros(10), np.linspace(0, 1, 10))


def test_the_gate_metrics_as_mlflow_metrics_compute_the_same_values() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(400)
    labels = (rng.random(400) < scores * 0.4).astype("int8")
    as_mlflow = {metric.name: metric for metric in metrics.mlflow_metrics()}
    assert set(as_mlflow) == set(metrics.GATE_METRICS)
    assert {name: as_mlflow[name].greater_is_better for name in as_mlflow} == metrics.GATE_METRICS
    assert metrics.gate_metric("roc_auc", labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    quality = metrics.quality(labels, scores)
    for name in metrics.GATE_METRICS:
        assert quality[name] == metrics.gate_metric(name, labels, scores)


def test_a_gate_metric_on_one_outcome_only_is_nan_not_an_error() -> None:
    """MLflow tries every metric on the first row alone before the whole set."""
    assert np.isnan(metrics.gate_metric("roc_auc", [1], [0.3]))
    assert metrics.gate_metric("brier", [1], [0.3]) == pytest.approx(0.49)
    with pytest.raises(ValueError, match="unknown gate metric"):
        metrics.gate_metric("accuracy", [0, 1], [0.2, 0.8])


def test_weights_count_each_row_that_many_times() -> None:
    """A sampled window's metrics: a row of weight w counts as w copies of it."""
    rng = np.random.default_rng(11)
    scores = rng.random(4_000)
    labels = (rng.random(4_000) < scores * 0.3).astype("int8")
    weights = rng.integers(1, 6, 4_000)
    repeated = np.repeat(np.arange(4_000), weights)

    weighted = metrics.quality(labels, scores, weights=weights.astype("float64"))
    copies = metrics.quality(labels[repeated], scores[repeated])

    for name in ("roc_auc", "pr_auc", "brier", "rows", "positives", "fail_rate", "mean_score"):
        assert weighted[name] == pytest.approx(copies[name], rel=1e-9), name
    # Bins and the flagged share are cut at weights' edges, not between copies: near, not equal.
    assert weighted["calibration_error"] == pytest.approx(copies["calibration_error"], abs=0.005)
    assert weighted["precision_at_top_k"] == pytest.approx(copies["precision_at_top_k"], abs=0.02)
    assert weighted["top_k"] == pytest.approx(copies["top_k"], abs=5)
