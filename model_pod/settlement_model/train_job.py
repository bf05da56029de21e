"""``train``: fit the settlement-fail classifier on a training snapshot, log it, register it.

scikit-learn's HistGradientBoostingClassifier behind an ordinal encoder for the categorical
features (unknown categories at scoring time become "missing", never an error). Logged to
the training's MLflow run: parameters, holdout metrics, signature, input example, feature
importance and calibration plots; registered as a new version of ``settlement_fail_risk``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from settlement_model import compiled, features, metrics, registry, sampling, training_set
from settlement_model.contract import JobEnvironment

log = logging.getLogger(__name__)

PERMUTATION_SAMPLE_ROWS = 20_000
DATASET_SAMPLE_ROWS = 10_000  # the rows logged with each snapshot file as its dataset (the schema)
MODEL_RUNTIME_PACKAGES = ("scikit-learn", "skops", "numpy", "pandas", "scipy")
SKOPS_TRUSTED_TYPES = (
    "settlement_model.encoding.FeatureMatrix",
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)


@dataclass(frozen=True)
class Hyperparameters:
    # Small trees, few rounds: the fail drivers add up on the log-odds scale, so deeper or
    # longer boosting fits noise, and every tree costs scoring time. On the demo's synthetic
    # world (holdout ROC AUC; Bayes-optimal 0.745): 31 leaves x 300 rounds 0.723, 7 x 150
    # 0.738, 4 x 80 at rate 0.2 0.738 and 5x faster to score.
    learning_rate: float = 0.2
    max_iter: int = 80
    max_leaf_nodes: int = 4
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    seed: int = 7
    # Features the pipeline drops (ablation experiments); the model's signature still takes
    # every feature, so the scoring job's contract does not change.
    ignore_features: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        unknown = [name for name in self.ignore_features if name not in features.FEATURES]
        if unknown:
            raise ValueError(f"cannot ignore unknown feature(s) {unknown}; features: {features.FEATURES}")
        if len(self.ignore_features) == len(features.FEATURES):
            raise ValueError("cannot ignore every feature")


def build_pipeline(params: Hyperparameters) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    from settlement_model.encoding import FeatureMatrix

    categorical = tuple(name for name in features.CATEGORICAL if name not in params.ignore_features)
    numeric = tuple(name for name in features.NUMERIC if name not in params.ignore_features)
    classifier = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=list(range(len(categorical))),
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        scoring="loss",
        random_state=params.seed,
    )
    # The encoder takes the whole input frame and keeps only the features not ignored.
    return Pipeline([("encode", FeatureMatrix(categorical, numeric)), ("classify", classifier)])


def train(
    env: JobEnvironment, training_date: dt.date, params: Hyperparameters, airflow_run_id: str
) -> dict[str, Any]:
    import mlflow

    manifest = training_set.read_manifest(env, training_date)
    snapshot_run_id = manifest["mlflow_run_id"]
    client = registry.client(env.mlflow_tracking_uri)
    fingerprint = json.dumps(asdict(params), sort_keys=True)
    existing = [
        v
        for v in registry.versions_of_training_set(client, env.model_name, snapshot_run_id)
        if (v.tags or {}).get("training_params") == fingerprint
    ]
    if existing:
        # A retry after the version was registered: the same snapshot and parameters give the
        # same model, so the version is reused instead of registered twice.
        version = existing[0]
        log.info("version %s was already trained on this snapshot with these parameters", version.version)
        return {"model_version": str(version.version), "mlflow_run_id": version.run_id, "reused": True}

    # Only what the fit needs: the trade ids and dates are most of the file's bytes in pandas.
    train_frame = training_set.load_part(
        env, manifest, "train", columns=(*features.FEATURES, features.LABEL, sampling.WEIGHT_COLUMN)
    )
    x_train, y_train = features.model_frame(train_frame), train_frame[features.LABEL].astype("int8")
    # A sampled train window's rows count 1 / tau times each (sampling.py). A window kept
    # whole (the demo's, the tests') trains without weights, exactly as before sampling.
    train_sampling = manifest["parts"]["train"].get("sampling")
    sampled = (
        bool(train_sampling) and train_sampling["settled_rows_kept"] < train_sampling["settled_rows_seen"]
    )
    weights = train_frame[sampling.WEIGHT_COLUMN].to_numpy() if sampled else None
    del train_frame  # x_train has the features: the loaded frame is not kept through the fit
    log.info(
        "training on %d rows (%d failed; sampling %s), evaluating on %d rows",
        len(x_train),
        int(y_train.sum()),
        json.dumps(train_sampling, sort_keys=True),
        manifest["parts"]["evaluation"]["rows"],
    )

    pipeline = build_pipeline(params)
    pipeline.fit(x_train, y_train, classify__sample_weight=weights)
    # The evaluation window is whole (never sampled): scored in batches, not held as a frame.
    evaluation = training_set.score_window(
        training_set.part_file(env, manifest, "evaluation"),
        {"model": lambda model_input: pipeline.predict_proba(model_input)[:, 1]},
        sample_rows=PERMUTATION_SAMPLE_ROWS,
        seed=params.seed,
    )
    y_eval, eval_scores = evaluation.labels, evaluation.scores["model"]
    holdout = metrics.quality(y_eval, eval_scores)
    log.info("holdout quality: %s", json.dumps(holdout, sort_keys=True))

    parent = client.get_run(snapshot_run_id)
    # One child run per model trained on the snapshot (its parameters may differ).
    with mlflow.start_run(
        experiment_id=parent.info.experiment_id,
        run_name=f"model-{training_date:%Y-%m-%d}",
        tags={"mlflow.parentRunId": snapshot_run_id, "airflow_run_id": airflow_run_id},
    ) as run:
        run_id = run.info.run_id
        train_sample = training_set.head_of_part(env, manifest, "train", DATASET_SAMPLE_ROWS)
        _log_datasets(manifest, train_sample, evaluation.sample, training_date)
        mlflow.log_params({f"model.{key}": value for key, value in asdict(params).items()})
        mlflow.log_param("model.iterations_used", int(pipeline.named_steps["classify"].n_iter_))
        mlflow.log_metrics({f"holdout_{key}": value for key, value in holdout.items()})
        train_scores = pipeline.predict_proba(x_train)[:, 1]
        train_quality = metrics.quality(y_train, train_scores, weights=weights)
        mlflow.log_metrics({f"train_{key}": value for key, value in train_quality.items()})
        if train_sampling is not None:
            mlflow.log_params({f"train.sampling.{key}": value for key, value in train_sampling.items()})
        _log_plots(pipeline, y_eval, eval_scores, evaluation.sample, params.seed)
        info = _log_model(
            pipeline,
            x_train,
            model_name=env.model_name,
            training_date=training_date,
            manifest=manifest,
            airflow_run_id=airflow_run_id,
        )
    version = str(info.registered_model_version)
    client.set_model_version_tag(env.model_name, version, "training_date", training_date.isoformat())
    client.set_model_version_tag(env.model_name, version, "airflow_run_id", airflow_run_id)
    client.set_model_version_tag(env.model_name, version, "holdout_roc_auc", f"{holdout['roc_auc']:.6f}")
    client.set_model_version_tag(env.model_name, version, "training_params", fingerprint)
    if train_sampling is not None:
        client.set_model_version_tag(
            env.model_name, version, "training_sampling", json.dumps(train_sampling, sort_keys=True)
        )
    client.set_model_version_tag(env.model_name, version, registry.TRAINING_SET_TAG, snapshot_run_id)
    log.info("registered %s version %s from run %s", env.model_name, version, run_id)
    return {"model_version": version, "mlflow_run_id": run_id, "reused": False, "holdout": holdout}


def _log_datasets(
    manifest: dict[str, Any], train_frame: Any, eval_frame: Any, training_date: dt.date
) -> None:
    """The snapshot's two files as the run's inputs (a sample for the schema, the S3 object as source)."""
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    for name, frame, context in (
        ("train", train_frame, "training"),
        ("evaluation", eval_frame, "evaluation"),
    ):
        part = manifest["parts"][name]
        dataset = from_pandas(
            frame.head(DATASET_SAMPLE_ROWS),
            source=part["uri"],
            targets=features.LABEL,
            name=f"settlement-{name}-{training_date}",
            digest=part["sha256"][:16],
        )
        mlflow.log_input(dataset, context=context)


def _pinned_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in MODEL_RUNTIME_PACKAGES]


def _log_model(
    pipeline: Any,
    x_train: Any,
    *,
    model_name: str,
    training_date: dt.date,
    manifest: dict[str, Any],
    airflow_run_id: str,
) -> Any:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    example = x_train.head(5)
    signature = infer_signature(example, pipeline.predict_proba(example))
    with tempfile.TemporaryDirectory(prefix="compiled-") as folder:
        return mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=signature,
            input_example=example,
            registered_model_name=model_name,
            # Scoring needs the fail probability, not the 0/1 class.
            pyfunc_predict_fn="predict_proba",
            # skops, not pickle: loading can only build the types listed (reviewed: scikit-learn's
            # own tree predictor and input validation function, wrapped in functools.partial).
            serialization_format="skops",
            skops_trusted_types=list(SKOPS_TRUSTED_TYPES),
            # Pinned from this image instead of inferred (inference reloads the model in a
            # subprocess: a minute and a half here, for the same answer).
            pip_requirements=_pinned_requirements(),
            # The trees as plain data (compiled.py): what the scoring job loads, without
            # MLflow or scikit-learn, in a second.
            extra_files=_compiled_trees(pipeline, Path(folder)),
            tags={"training_date": training_date.isoformat(), "airflow_run_id": airflow_run_id},
            metadata={"features": list(features.FEATURES), "training_set": manifest["parts"]["train"]["uri"]},
        )


def _compiled_trees(pipeline: Any, folder: Path) -> list[str]:
    """[the path of the pipeline's compiled trees as JSON], or [] when it cannot be compiled."""
    model = compiled.compile_pipeline(pipeline)
    if model is None:
        return []
    path = folder / compiled.COMPILED_MODEL_FILE
    path.write_text(json.dumps(model.description()))
    return [str(path)]


def _log_plots(pipeline: Any, y_eval: Any, scores: Any, eval_sample: Any, seed: int) -> None:
    """The calibration curve on the whole evaluation window; the features' permutation
    importance on a random sample of it (``eval_sample``, PERMUTATION_SAMPLE_ROWS rows)."""
    import matplotlib

    matplotlib.use("Agg")  # no display in a pod
    import matplotlib.pyplot as plt
    import mlflow
    from sklearn.inspection import permutation_importance

    mean_score, observed = metrics.calibration_curve(y_eval, scores)
    figure, axis = plt.subplots(figsize=(5, 5))
    limit = max(float(mean_score.max()), float(observed.max())) * 1.05
    axis.plot([0, limit], [0, limit], linestyle="--", color="grey", label="perfect calibration")
    axis.plot(mean_score, observed, marker="o", label="model (equal-count bins)")
    axis.set_xlabel("mean predicted fail probability")
    axis.set_ylabel("observed fail rate")
    axis.legend()
    mlflow.log_figure(figure, "plots/calibration.png")
    plt.close(figure)

    importance = permutation_importance(
        pipeline,
        features.model_frame(eval_sample),
        eval_sample[features.LABEL].astype("int8"),
        scoring="roc_auc",
        n_repeats=2,
        random_state=seed,
    )
    ranked = sorted(
        zip(features.FEATURES, importance.importances_mean, strict=True), key=lambda item: item[1]
    )
    figure, axis = plt.subplots(figsize=(6, 7))
    axis.barh([name for name, _ in ranked], [value for _, value in ranked])
    axis.set_xlabel("ROC AUC lost when the feature is shuffled (holdout sample)")
    figure.tight_layout()
    mlflow.log_figure(figure, "plots/feature_importance.png")
    plt.close(figure)
    mlflow.log_dict({name: float(value) for name, value in ranked}, "feature_importance.json")
