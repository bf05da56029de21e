"""The feature matrix the trees get: codes for categories seen in training, NaN otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
from settlement_model.encoding import FeatureMatrix


def test_categories_become_codes_and_unseen_or_missing_ones_nan() -> None:
    train = pd.DataFrame(
        {"desk": ["rates", "equities", "rates"], "notional": [1.0, 2.0, 3.0], "noise": [9, 9, 9]}
    )
    matrix = FeatureMatrix(("desk",), ("notional",)).fit(train)
    assert matrix.categories_ == [["equities", "rates"]]
    scored = pd.DataFrame(
        {"desk": ["rates", "credit", None], "notional": [5.0, np.nan, 7.0], "noise": [0, 0, 0]}
    )
    out = matrix.transform(scored)
    assert out.shape == (3, 2)
    np.testing.assert_array_equal(out[:, 0], [1.0, np.nan, np.nan])
    np.testing.assert_array_equal(out[:, 1], [5.0, np.nan, 7.0])
    assert list(matrix.get_feature_names_out()) == ["desk", "notional"]


def test_only_the_chosen_columns_are_used() -> None:
    frame = pd.DataFrame({"a": ["x"], "b": ["y"], "n": [1.0]})
    assert FeatureMatrix(("b",), ()).fit(frame).transform(frame).shape == (1, 1)
