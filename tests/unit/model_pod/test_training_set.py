"""Training and evaluation windows: later in time, and no label read before it was known."""

from __future__ import annotations

import datetime as dt

import pytest
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
