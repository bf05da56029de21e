"""The evaluate job's metrics through mlflow.models.evaluate, on a local MLflow store (SQLite in a
temporary folder): the gate's metrics logged on the run under the model's role, equal to the
project's own computation, and the evaluation set recorded as the run's dataset (source, digest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from settlement_model import evaluation, metrics


@pytest.fixture
def local_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return uri


def test_the_gate_metrics_are_computed_and_logged_by_mlflow_evaluate(local_mlflow: str) -> None:
    import mlflow

    rng = np.random.default_rng(11)
    scores = rng.random(2_000)
    labels = (rng.random(2_000) < scores * 0.3).astype("int8")
    dataset = {
        "source": "s3://bucket/training-sets/x/evaluation.parquet",
        "digest": "0123456789abcdef",
        "name": "eval",
    }
    with mlflow.start_run() as run:
        measured = evaluation._measured(
            dataset, labels, scores, "challenger", model_id=None, top_k_fraction=0.05
        )
    expected = metrics.quality(labels, scores, 0.05)
    assert measured == pytest.approx(expected)
    logged = mlflow.MlflowClient().get_run(run.info.run_id)
    assert {f"challenger_{name}" for name in expected} <= set(logged.data.metrics)
    for name in metrics.GATE_METRICS:
        assert logged.data.metrics[f"challenger_{name}"] == pytest.approx(expected[name])
    (recorded,) = logged.inputs.dataset_inputs
    assert (recorded.dataset.name, recorded.dataset.digest) == ("eval", "0123456789abcdef")
    assert "s3://bucket/training-sets/x/evaluation.parquet" in recorded.dataset.source
