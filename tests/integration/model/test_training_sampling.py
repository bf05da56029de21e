"""The train window sampled (settlement_model/sampling.py) on the real stack: the fixture's
snapshot built whole and with a budget of a quarter of its settled rows, then trained. At a
bank's volume the budget is what keeps the window in memory; here it is made small so that
the fixture's window is sampled."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from settlement_model import features, storage, train_job, training_set
from settlement_model.sampling import WEIGHT_COLUMN

from tests.support.model_stack import TRAINING_DATE, WINDOWS


def test_a_sampled_train_window_keeps_every_failure_weights_the_rest_and_is_recorded_with_the_model(
    snapshot: dict[str, Any], reader_env: Any, mlflow_client: Any, model_name: str
) -> None:
    whole = snapshot["parts"]["train"]
    settled = whole["rows"] - whole["positives"]
    assert whole["sampling"]["settled_rows_kept"] == whole["sampling"]["settled_rows_seen"] == settled
    budget = settled // 4

    sampled = training_set.build(
        reader_env, TRAINING_DATE, airflow_run_id="pytest-sampled", max_settled_rows=budget, **WINDOWS
    )

    part = sampled["parts"]["train"]
    assert (part["positives"], part["rows"]) == (whole["positives"], whole["positives"] + budget)
    assert part["sampling"]["settled_rows_seen"] == settled
    assert part["sampling"]["settled_weight"] > 1.0
    # The evaluation window stays whole: the gate measures on every row.
    evaluation = sampled["parts"]["evaluation"]
    assert "sampling" not in evaluation
    assert evaluation["rows"] == snapshot["parts"]["evaluation"]["rows"]

    rows = pq.read_table(storage.download(reader_env, part["key"], reader_env.work_dir / "sampled.parquet"))
    # Plain strings in the snapshot (the features' dictionary columns decoded): what its
    # pandas readers, training and evaluation, take.
    assert {rows.schema.field(name).type for name in features.CATEGORICAL} == {pa.string()}
    weights = rows.column(WEIGHT_COLUMN).to_numpy()
    failed = rows.column("failed").to_numpy(zero_copy_only=False)
    assert set(weights[failed]) == {1.0}
    assert set(weights[~failed]) == {part["sampling"]["settled_weight"]}
    assert weights.sum() == pytest.approx(whole["rows"], rel=0.15)  # the window it stands for

    snapshot_run = mlflow_client.get_run(sampled["mlflow_run_id"])
    assert snapshot_run.data.params["train.sampling.max_settled_rows"] == str(budget)

    result = train_job.train(reader_env, TRAINING_DATE, train_job.Hyperparameters(), "pytest-sampled")
    version = mlflow_client.get_model_version(model_name, result["model_version"])
    assert json.loads(version.tags["training_sampling"]) == part["sampling"]
    model_run = mlflow_client.get_run(version.run_id)
    assert model_run.data.params["train.sampling.settled_rows_kept"] == str(budget)
    # Trained with the weights, the model's probabilities are the window's, not the sample's,
    # where failures are about four times as common: on the whole evaluation window, its mean
    # score is near the observed fail rate.
    holdout = result["holdout"]
    assert holdout["mean_score"] == pytest.approx(holdout["fail_rate"], rel=0.4)
    # The train metrics estimate the whole window's: its fail rate, not the sample's.
    metrics = model_run.data.metrics
    assert metrics["train_fail_rate"] == pytest.approx(whole["positives"] / whole["rows"], rel=0.15)
    assert metrics["train_rows"] == pytest.approx(whole["rows"], rel=0.15)
