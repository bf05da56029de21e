"""The trained pipeline's predictions, computed column by column in numpy (same numbers, faster).

scikit-learn's HistGradientBoosting predictor walks every tree row by row, reading each row's
features scattered across a row-major matrix: for 80 small trees that is about 140 ns per row
and tree on this machine, most of a scoring shard's time. The trees are tiny (a few splits
each), so here every split is evaluated once for a whole batch on one contiguous feature
column, and the leaf values are selected with ``np.where``. The decisions are the predictor's
own (sklearn/ensemble/_hist_gradient_boosting/_predictor.pyx, ``_predict_one_from_raw_data``):

  - missing value (NaN): the split's ``missing_go_to_left``;
  - numeric split: left when value <= threshold;
  - categorical split: left when the category is in the split's left set; right when it is
    another category known at fit time; an unknown category counts as missing.

The raw scores are summed in the predictor's order (baseline, then tree by tree), and turned
into probabilities by the model's own link function, so the scores are bit for bit those of
``pipeline.predict_proba`` (tests/unit/model_pod/test_compiled.py checks it).

Only the pipeline ``training.build_pipeline`` makes (FeatureMatrix + a binary
HistGradientBoostingClassifier) is compiled; anything else is scored by the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# A categorical code is cast to uint8 by the predictor (at most 255 categories per feature).
_CATEGORY_CODES = 256


@dataclass(frozen=True)
class _Split:
    feature: int  # column of the feature matrix
    threshold: float  # numeric splits
    missing_left: bool
    left_codes: np.ndarray | None  # categorical splits: bool per code, True = left


@dataclass(frozen=True)
class _Tree:
    """Nodes by index; a leaf has a value, an inner node a split and two children."""

    splits: dict[int, _Split]
    children: dict[int, tuple[int, int]]
    leaf_values: dict[int, float]

    def predict(self, columns: list[np.ndarray]) -> Any:
        return self._value(0, columns)

    def _value(self, node: int, columns: list[np.ndarray]) -> Any:
        if node in self.leaf_values:
            return self.leaf_values[node]
        left, right = self.children[node]
        goes_left = _goes_left(self.splits[node], columns)
        return np.where(goes_left, self._value(left, columns), self._value(right, columns))


def _goes_left(split: _Split, columns: list[np.ndarray]) -> np.ndarray:
    values = columns[split.feature]
    if split.left_codes is None:
        goes_left = values <= split.threshold  # False for NaN
        return goes_left | np.isnan(values) if split.missing_left else goes_left
    # Negative codes and NaN are missing; other codes look up the split's table.
    valid = values >= 0
    codes = np.where(valid, values, 0).astype(np.uint8)
    return np.where(valid, split.left_codes[codes], split.missing_left)


@dataclass(frozen=True)
class CompiledModel:
    """``predict(matrix)`` = the classifier's probability of class 1 for the feature matrix."""

    encoder: Any  # the pipeline's FeatureMatrix (it builds the matrix)
    baseline: float
    trees: tuple[_Tree, ...]
    link_inverse: Any

    def predict_table(self, table: Any) -> np.ndarray:
        """Scores of an Arrow table of feature rows (no pandas on the way)."""
        return self.predict(self.encoder.transform_arrow(table))

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        # Column-major: each split reads one contiguous column (a no-op for transform_arrow's).
        columns = [np.ascontiguousarray(matrix[:, j]) for j in range(matrix.shape[1])]
        raw = np.full(matrix.shape[0], self.baseline, dtype=np.float64)
        for tree in self.trees:
            raw += tree.predict(columns)
        return np.asarray(self.link_inverse(raw), dtype=np.float64)


def compile_pipeline(pipeline: Any) -> CompiledModel | None:
    """The compiled model, or None when the pipeline is not one this module knows."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    from settlement_model.encoding import FeatureMatrix

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return None
    encoder, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(encoder, FeatureMatrix) or not isinstance(classifier, HistGradientBoostingClassifier):
        return None
    if classifier.n_trees_per_iteration_ != 1 or len(classifier.classes_) != 2:
        return None
    known, feature_to_known = classifier._bin_mapper.make_known_categories_bitsets()
    trees = tuple(
        _compile_tree(predictor.nodes, predictor.raw_left_cat_bitsets, known, feature_to_known)
        for (predictor,) in classifier._predictors
    )
    return CompiledModel(
        encoder=encoder,
        baseline=float(np.asarray(classifier._baseline_prediction).ravel()[0]),
        trees=trees,
        link_inverse=classifier._loss.link.inverse,
    )


def _bit(bitsets: np.ndarray, row: int, code: int) -> bool:
    return bool((int(bitsets[row, code // 32]) >> (code % 32)) & 1)


def _compile_tree(
    nodes: np.ndarray, left_bitsets: np.ndarray, known: np.ndarray, feature_to_known: Any
) -> _Tree:
    splits: dict[int, _Split] = {}
    children: dict[int, tuple[int, int]] = {}
    leaves: dict[int, float] = {}
    for index, node in enumerate(nodes):
        if node["is_leaf"]:
            leaves[index] = float(node["value"])
            continue
        feature, missing_left = int(node["feature_idx"]), bool(node["missing_go_to_left"])
        left_codes = None
        if node["is_categorical"]:
            known_row = int(feature_to_known[feature])
            left_codes = np.array(
                [
                    True
                    if _bit(left_bitsets, int(node["bitset_idx"]), code)
                    else (False if _bit(known, known_row, code) else missing_left)
                    for code in range(_CATEGORY_CODES)
                ]
            )
        splits[index] = _Split(feature, float(node["num_threshold"]), missing_left, left_codes)
        children[index] = (int(node["left"]), int(node["right"]))
    return _Tree(splits, children, leaves)
