"""The trained pipeline's predictions, computed column by column in numpy (same numbers, faster).

scikit-learn's HistGradientBoosting predictor walks every tree row by row, reading each row's
features scattered across a row-major matrix: for 80 small trees that is about 140 ns per row
and tree on this machine, most of a scoring shard's time. The trees are tiny (a few splits
each), so here every split is evaluated once for a whole batch on one contiguous feature
column; each row's split outcomes make a small bit pattern, which picks its leaf value from a
table made once per tree (larger trees select their leaves split by split with ``np.where``).
The decisions are the predictor's own (``_predict_one_from_raw_data`` in
sklearn/ensemble/_hist_gradient_boosting/_predictor.pyx):

  - missing value (NaN): the split's ``missing_go_to_left``;
  - numeric split: left when value <= threshold;
  - categorical split: left when the category is in the split's left set; right when it is
    another category known at fit time; an unknown category counts as missing.

The raw scores are summed in the predictor's order (baseline, then tree by tree), and turned
into probabilities by the model's own link function, so the scores are bit for bit those of
``pipeline.predict_proba`` (tests/unit/model_pod/test_compiled.py checks it).

Only the pipeline ``train_job.build_pipeline`` makes (FeatureMatrix + a binary
HistGradientBoostingClassifier with the logit link) is compiled; anything else is scored by
the pipeline itself.

A compiled model is plain data (``description()``: categories, splits, leaf values), saved by
the training job as JSON next to the model in MLflow (``COMPILED_MODEL_FILE``). The scoring job
loads it with ``from_description`` and needs neither scikit-learn nor MLflow: starting a shard
is then a second, not the half minute their imports and the model's deserialisation take.
JSON keeps every float exactly (Python writes the shortest repr that reads back the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from settlement_model.arrow_encoder import ArrowEncoder

# A categorical code is cast to uint8 by the predictor (at most 255 categories per feature).
_CATEGORY_CODES = 256
_MISSING_CODE = _CATEGORY_CODES  # one more entry in a split's table: where missing values go
# Trees with up to this many splits are evaluated through a table of their leaves (one byte
# per row holds the outcomes); larger ones, split by split.
_MAX_TABLE_SPLITS = 8
DESCRIPTION_FORMAT = "settlement_model.compiled_trees/1"
COMPILED_MODEL_FILE = "compiled_trees.json"  # in the MLflow model's extra_files/


@dataclass(frozen=True)
class _Split:
    feature: int  # column of the feature matrix
    threshold: float  # numeric splits
    missing_left: bool
    # Categorical splits: True = left, for each code and (last) for a missing value.
    left_codes: np.ndarray | None


@dataclass(frozen=True)
class _Tree:
    """Nodes by index; a leaf has a value, an inner node a split and two children."""

    splits: dict[int, _Split]
    children: dict[int, tuple[int, int]]
    leaf_values: dict[int, float]

    def predict(self, columns: _Columns) -> Any:
        if len(self.splits) > _MAX_TABLE_SPLITS:
            return self._value(0, columns)
        # Each split's outcome for every row is one bit of the row's pattern; the pattern
        # picks the leaf from a table made once per tree. Every split is evaluated once and
        # a single gather replaces a np.where per split: the same leaf values, a third the time.
        pattern = np.zeros(columns.rows, dtype=np.uint8)
        for bit, node in enumerate(self.split_nodes):
            pattern |= _goes_left(self.splits[node], columns).view(np.uint8) << np.uint8(bit)
        return self.leaf_table[pattern]

    @cached_property
    def split_nodes(self) -> tuple[int, ...]:
        """The inner nodes, in the order of their bits in a row's pattern."""
        return tuple(sorted(self.splits))

    @cached_property
    def leaf_table(self) -> np.ndarray:
        """The leaf value for every pattern of split outcomes (bit set = the row goes left)."""
        bits = {node: bit for bit, node in enumerate(self.split_nodes)}
        table = np.empty(1 << len(bits), dtype=np.float64)
        for pattern in range(table.size):
            node = 0
            while node not in self.leaf_values:
                left, right = self.children[node]
                node = left if pattern >> bits[node] & 1 else right
            table[pattern] = self.leaf_values[node]
        return table

    def description(self) -> list[dict[str, Any]]:
        """The nodes in index order: a leaf's value, or an inner node's split and children."""
        nodes: list[dict[str, Any]] = []
        for index in range(len(self.leaf_values) + len(self.splits)):
            if index in self.leaf_values:
                nodes.append({"value": self.leaf_values[index]})
                continue
            split = self.splits[index]
            nodes.append(
                {
                    "feature": split.feature,
                    "threshold": split.threshold,
                    "missing_left": split.missing_left,
                    "left_codes": None
                    if split.left_codes is None
                    else np.flatnonzero(split.left_codes[:_CATEGORY_CODES]).tolist(),
                    "children": list(self.children[index]),
                }
            )
        return nodes

    @classmethod
    def from_description(cls, nodes: list[dict[str, Any]]) -> _Tree:
        splits: dict[int, _Split] = {}
        children: dict[int, tuple[int, int]] = {}
        leaves: dict[int, float] = {}
        for index, node in enumerate(nodes):
            if "value" in node:
                leaves[index] = float(node["value"])
                continue
            left_codes = None
            if node["left_codes"] is not None:
                left_codes = np.zeros(_CATEGORY_CODES + 1, dtype=bool)
                left_codes[np.asarray(node["left_codes"], dtype=np.intp)] = True
                left_codes[_MISSING_CODE] = bool(node["missing_left"])
            splits[index] = _Split(
                int(node["feature"]), float(node["threshold"]), bool(node["missing_left"]), left_codes
            )
            left, right = node["children"]
            children[index] = (int(left), int(right))
        return cls(splits, children, leaves)

    def _value(self, node: int, columns: _Columns) -> Any:
        if node in self.leaf_values:
            return self.leaf_values[node]
        left, right = self.children[node]
        goes_left = _goes_left(self.splits[node], columns)
        return np.where(goes_left, self._value(left, columns), self._value(right, columns))


class _Columns:
    """A batch's feature columns, and what every split on a column needs, computed once per
    batch instead of once per split: the missing values of a numeric column, the category
    codes of a categorical one."""

    def __init__(self, matrix: np.ndarray) -> None:
        self._matrix = matrix
        self.rows = matrix.shape[0]
        self._values: dict[int, np.ndarray] = {}
        self._missing: dict[int, np.ndarray] = {}
        self._codes: dict[int, np.ndarray] = {}

    def values(self, feature: int) -> np.ndarray:
        if feature not in self._values:
            # Contiguous: each split reads one column (a no-op for transform_arrow's matrix).
            self._values[feature] = np.ascontiguousarray(self._matrix[:, feature])
        return self._values[feature]

    def missing(self, feature: int) -> np.ndarray:
        if feature not in self._missing:
            self._missing[feature] = np.isnan(self.values(feature))
        return self._missing[feature]

    def codes(self, feature: int) -> np.ndarray:
        """Category codes; _MISSING_CODE for NaN and negative codes (missing)."""
        if feature not in self._codes:
            values = self.values(feature)
            self._codes[feature] = np.where(values >= 0, values, _MISSING_CODE).astype(np.intp)
        return self._codes[feature]


def _goes_left(split: _Split, columns: _Columns) -> np.ndarray:
    if split.left_codes is None:
        goes_left = columns.values(split.feature) <= split.threshold  # False for NaN
        return goes_left | columns.missing(split.feature) if split.missing_left else goes_left
    return split.left_codes[columns.codes(split.feature)]


def _logistic(raw: np.ndarray) -> np.ndarray:
    from scipy.special import expit  # what scikit-learn's LogitLink.inverse calls on numpy arrays

    return np.asarray(expit(raw), dtype=np.float64)


@dataclass(frozen=True)
class CompiledModel:
    """``predict(matrix)`` = the classifier's probability of class 1 for the feature matrix."""

    encoder: ArrowEncoder
    baseline: float
    trees: tuple[_Tree, ...]

    def predict_table(self, table: Any) -> np.ndarray:
        """Scores of an Arrow table of feature rows (no pandas on the way)."""
        return self.predict(self.encoder.transform_arrow(table))

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        columns = _Columns(matrix)
        raw = np.full(matrix.shape[0], self.baseline, dtype=np.float64)
        for tree in self.trees:
            raw += tree.predict(columns)
        return _logistic(raw)

    def description(self) -> dict[str, Any]:
        """Everything ``predict_table`` needs, as JSON-ready data."""
        return {
            "format": DESCRIPTION_FORMAT,
            "encoder": {
                "categorical": list(self.encoder.categorical),
                "categories": [list(values) for values in self.encoder.categories],
                "numeric": list(self.encoder.numeric),
            },
            "link": "logit",
            "baseline": self.baseline,
            "trees": [tree.description() for tree in self.trees],
        }

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> CompiledModel:
        if description.get("format") != DESCRIPTION_FORMAT or description.get("link") != "logit":
            raise ValueError(
                f"not a compiled model this job can run: format {description.get('format')!r}, "
                f"link {description.get('link')!r} (expected {DESCRIPTION_FORMAT!r}, 'logit')"
            )
        import scipy.special  # noqa: F401  # predict's expit: imported while loading, not at the first batch

        encoder = description["encoder"]
        return cls(
            encoder=ArrowEncoder(
                tuple(encoder["categorical"]),
                tuple(tuple(values) for values in encoder["categories"]),
                tuple(encoder["numeric"]),
            ),
            baseline=float(description["baseline"]),
            trees=tuple(_Tree.from_description(nodes) for nodes in description["trees"]),
        )


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
    if type(classifier._loss.link).__name__ != "LogitLink":
        return None
    known, feature_to_known = classifier._bin_mapper.make_known_categories_bitsets()
    trees = tuple(
        _compile_tree(predictor.nodes, predictor.raw_left_cat_bitsets, known, feature_to_known)
        for (predictor,) in classifier._predictors
    )
    return CompiledModel(
        encoder=encoder.arrow_encoder(),
        baseline=float(np.asarray(classifier._baseline_prediction).ravel()[0]),
        trees=trees,
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
                + [missing_left]
            )
        splits[index] = _Split(feature, float(node["num_threshold"]), missing_left, left_codes)
        children[index] = (int(node["left"]), int(node["right"]))
    return _Tree(splits, children, leaves)
