"""Training and evaluation windows: later in time, and no label read before it was known."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from settlement_model import features, training_set
from settlement_model.training_set import Windows


def test_windows_are_in_time_order_with_the_label_lags() -> None:
    w = Windows.for_training_date(dt.date(2026, 11, 20), train_days=60, holdout_days=10, label_lag_days=7)
    assert w.eval_labels_known_by == dt.date(2026, 11, 20)
    assert w.eval_end == dt.date(2026, 11, 13)
    assert w.eval_start == dt.date(2026, 11, 4)
    # The model never sees an outcome reported once the evaluation window has started.
    assert w.train_labels_known_by == dt.date(2026, 11, 3)
    assert w.train_end == dt.date(2026, 10, 27)
    assert (w.train_end - w.train_start).days == 59
    assert w.train_start < w.train_end < w.train_labels_known_by < w.eval_start <= w.eval_end


@pytest.mark.parametrize(("train", "holdout", "lag"), [(0, 10, 7), (60, 0, 7), (60, 10, -1)])
def test_empty_windows_or_negative_lags_are_refused(train: int, holdout: int, lag: int) -> None:
    with pytest.raises(ValueError, match="at least one day"):
        Windows.for_training_date(dt.date(2026, 11, 20), train, holdout, lag)


def _window_file(path: Path, rows: int) -> Path:
    """A snapshot window's Parquet file: identifiers, every feature and the label."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(5)
    columns: dict[str, Any] = {
        "as_of_date": pa.array([dt.date(2026, 11, 2)] * rows),
        "trade_id": pa.array([f"T{i:07d}" for i in range(rows)]),
    }
    columns |= {name: pa.array(rng.choice(["a", "b", None], rows)) for name in features.CATEGORICAL}
    columns |= {name: rng.normal(size=rows) for name in features.NUMERIC}
    columns[features.LABEL] = rng.random(rows) < 0.1
    pq.write_table(pa.table(columns), path, row_group_size=1_000)
    return path


def test_a_window_is_scored_batch_by_batch_in_its_rows_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(training_set, "EVALUATION_BATCH_ROWS", 700)
    path = _window_file(tmp_path / "evaluation.parquet", 5_000)
    frames: list[Any] = []
    predictors = {
        "first": lambda frame: frame["log_notional"].to_numpy(),
        "second": lambda frame: -frame["days_to_settle"].to_numpy(),
    }

    window = training_set.score_window(
        path, predictors, sample_rows=1_000, on_batch=lambda frame, _: frames.append(frame)
    )

    whole = pq.read_table(path).to_pandas()
    assert (window.labels == whole[features.LABEL].to_numpy()).all()
    assert (window.scores["first"] == whole["log_notional"].to_numpy()).all()
    assert (window.scores["second"] == -whole["days_to_settle"].to_numpy()).all()
    assert max(len(frame) for frame in frames) == 700  # one batch at a time
    assert 800 < len(window.sample) < 1_200  # about sample_rows, drawn over the whole window
    assert window.sample["trade_id"].str[1:].astype(int).max() > 4_000
