"""The compiled trees give exactly the pipeline's scores: missing values, unknown categories,
categories the trees never split on, every feature type."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from settlement_model import compiled, features, train_job
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def _world(rows: int, seed: int) -> pd.DataFrame:
    """Feature rows in the shape features.feature_table makes, with a label that depends on them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {name: rng.choice([f"{name}_{i}" for i in range(5)], rows) for name in features.CATEGORICAL}
        | {name: rng.normal(size=rows) for name in features.NUMERIC}
    )
    for name in ("desk", "confirmation_hours"):  # some missing values
        frame.loc[rng.random(rows) < 0.1, name] = None
    logit = (frame["desk"] == "desk_1") * 1.5 + frame["log_notional"] - 2 * frame["confirmation_hours"].isna()
    frame["failed"] = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return frame


# Small trees are evaluated through a table of their leaves, large ones split by split
# (compiled._MAX_TABLE_SPLITS): both ways are checked.
@pytest.fixture(scope="module", params=[6, 16], ids=["leaf-table trees", "split-by-split trees"])
def pipeline(request: pytest.FixtureRequest) -> Pipeline:
    train = _world(5_000, seed=1)
    params = train_job.Hyperparameters(max_iter=30, max_leaf_nodes=request.param, min_samples_leaf=20)
    return train_job.build_pipeline(params).fit(features.model_frame(train), train["failed"])


def test_scores_are_bit_for_bit_the_pipelines(pipeline: Pipeline) -> None:
    scoring = _world(3_000, seed=2)
    scoring.loc[:40, "desk"] = "a desk never seen in training"
    scoring.loc[40:80, "market"] = None
    model = compiled.compile_pipeline(pipeline)
    assert model is not None
    max_leaves = pipeline.steps[1][1].max_leaf_nodes
    assert max(len(tree.splits) for tree in model.trees) == max_leaves - 1
    expected = pipeline.predict_proba(features.model_frame(scoring))[:, 1]
    table = pa.Table.from_pandas(scoring[list(features.FEATURES)], preserve_index=False)
    np.testing.assert_array_equal(model.predict_table(table), expected)


def test_the_arrow_matrix_is_the_pandas_one(pipeline: Pipeline) -> None:
    scoring = _world(500, seed=3)
    encoder = pipeline.steps[0][1]
    table = pa.Table.from_pandas(scoring, preserve_index=False)
    np.testing.assert_array_equal(
        encoder.transform_arrow(table), encoder.transform(features.model_frame(scoring))
    )


def test_dictionary_columns_encode_as_their_values(pipeline: Pipeline) -> None:
    """The reference data's categoricals reach the encoder as dictionary columns (features.py):
    the codes are those of the same values as plain strings, whatever the dictionary holds
    (values repeated, values never seen in training) and where an index is null."""
    scoring = _world(500, seed=5)
    scoring.loc[:20, "market"] = "a market never seen in training"
    scoring.loc[20:40, "market"] = None
    plain = pa.Table.from_pandas(scoring[list(features.FEATURES)], preserve_index=False)
    values = pa.array(
        [
            "market_3",
            "a market never seen in training",
            "market_0",
            *sorted(set(scoring["market"].dropna())),
            "market_0",
        ]
    )
    positions = {value: index for index, value in reversed(list(enumerate(values.to_pylist())))}
    indices = pa.array(
        [positions.get(value) for value in scoring["market"].where(scoring["market"].notna(), None)],
        pa.int32(),
    )
    dictionary = pa.DictionaryArray.from_arrays(indices, values)
    assert dictionary.to_pylist() == plain.column("market").to_pylist()
    encoded = plain.set_column(plain.schema.get_field_index("market"), "market", dictionary)
    encoder = pipeline.steps[0][1]
    np.testing.assert_array_equal(encoder.transform_arrow(encoded), encoder.transform_arrow(plain))


def test_other_pipelines_are_not_compiled() -> None:
    assert compiled.compile_pipeline(Pipeline([("scale", StandardScaler())])) is None
    assert compiled.compile_pipeline(object()) is None


def test_the_saved_description_scores_bit_for_bit_without_scikit_learn(pipeline: Pipeline) -> None:
    """What training saves next to the model (JSON) and the scoring job loads gives the same scores."""
    model = compiled.compile_pipeline(pipeline)
    assert model is not None
    saved = json.dumps(model.description())
    loaded = compiled.CompiledModel.from_description(json.loads(saved))
    scoring = _world(3_000, seed=4)
    scoring.loc[:40, "desk"] = "a desk never seen in training"
    table = pa.Table.from_pandas(scoring[list(features.FEATURES)], preserve_index=False)
    expected = pipeline.predict_proba(features.model_frame(scoring))[:, 1]
    np.testing.assert_array_equal(loaded.predict_table(table), expected)
    assert len(loaded.trees) == pipeline.steps[1][1].n_iter_


def test_loading_scoring_code_imports_neither_scikit_learn_nor_mlflow() -> None:
    code = (
        "import sys, settlement_model.compiled, settlement_model.score_job, settlement_model.registry_http; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'mlflow', 'skops', 'pandas'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_an_unknown_description_is_refused() -> None:
    with pytest.raises(ValueError, match="not a compiled model this job can run: format 'other/9'"):
        compiled.CompiledModel.from_description({"format": "other/9", "link": "logit"})
