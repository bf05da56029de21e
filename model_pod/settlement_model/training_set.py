"""``build-training-set``: a point-in-time snapshot of labelled rows, split in time.

For a training date T (windows in calendar days, all configurable):

    train rows            evaluation rows
    as-of dates           as-of dates
    [train_start, train_end]   [eval_start, eval_end]          T
    |---------------------|..lag..|----------------------|..lag..|
    labels known by eval_start - 1     labels known by T

The model learns only from outcomes reported before the evaluation window starts, and is
evaluated on later trades: the same situation as scoring tomorrow's trades with today's
model. Each row's features use only what was known at the end of its as-of date (sql/).

Written to S3 under ``training-sets/training_date=T/`` (train.parquet, evaluation.parquet,
manifest.json), and the MLflow run of this training is created here with both files
logged as its datasets; ``train`` and ``evaluate`` continue from the manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from settlement_model import contract, features, registry, sampling, storage, timeouts, warehouse
from settlement_model.contract import JobEnvironment, RefusedError

log = logging.getLogger(__name__)

SAMPLED_CHUNK_ROWS = 100_000  # the kept rows' features are computed and written this many at a time
EVALUATION_BATCH_ROWS = 250_000  # rows of a window scored at a time (score_window)


@dataclass(frozen=True)
class Windows:
    train_start: dt.date
    train_end: dt.date
    train_labels_known_by: dt.date
    eval_start: dt.date
    eval_end: dt.date
    eval_labels_known_by: dt.date

    @classmethod
    def for_training_date(
        cls, training_date: dt.date, train_days: int, holdout_days: int, label_lag_days: int
    ) -> Windows:
        if min(train_days, holdout_days) < 1 or label_lag_days < 0:
            raise ValueError("train and holdout windows need at least one day, the lag cannot be negative")
        day = dt.timedelta(days=1)
        eval_end = training_date - label_lag_days * day
        eval_start = eval_end - (holdout_days - 1) * day
        train_known_by = eval_start - day
        train_end = train_known_by - label_lag_days * day
        return cls(
            train_start=train_end - (train_days - 1) * day,
            train_end=train_end,
            train_labels_known_by=train_known_by,
            eval_start=eval_start,
            eval_end=eval_end,
            eval_labels_known_by=training_date,
        )


def _as_of_dates(conn: Any, start: dt.date, end: dt.date) -> list[dt.date]:
    """The feed dates in [start, end]: the nights the scoring job ran (or would have)."""
    rows = warehouse.fetch_all(
        conn,
        "SELECT DISTINCT business_date FROM ops.trades WHERE business_date BETWEEN $1 AND $2 ORDER BY 1",
        (start, end),
    )
    return [row[0] for row in rows]


def _write_window(
    conn: Any, dates: list[dt.date], known_by: dt.date, path: Path, max_settled_rows: int | None
) -> dict[str, Any]:
    """Stream one window's labelled rows into a Parquet file; return its row and fail counts.
    With ``max_settled_rows``, every failed row and a weighted sample of the settled ones
    (sampling.py): the rows get a ``sample_weight`` column and the counts say what was kept."""
    warehouse.set_parameters(
        conn, {**features.feature_parameters(dates), "settlement_model.labels_known_by": known_by.isoformat()}
    )
    reference = features.Reference.read(lambda sql: warehouse.fetch_table(conn, sql))
    labelled = warehouse.stream(conn, features.training_set_sql())
    counts: dict[str, Any] = {"as_of_dates": [d.isoformat() for d in dates]}
    if max_settled_rows is None:
        return {**_write_features(labelled, reference, path), **counts}
    sampler = sampling.SettledRowsSampler(max_settled_rows, features.LABEL)
    for batch in labelled:
        sampler.add(batch)
    kept, sampled = sampler.result()
    log.info("sampling of the window: %s", json.dumps(sampled.as_dict(), sort_keys=True))
    chunks = kept.to_batches(max_chunksize=SAMPLED_CHUNK_ROWS) if kept is not None else []
    return {**_write_features(chunks, reference, path), **counts, "sampling": sampled.as_dict()}


def _write_features(labelled: Iterable[Any], reference: features.Reference, path: Path) -> dict[str, int]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    writer = None
    rows = positives = 0
    try:
        for batch in labelled:
            # Plain strings in the snapshot: its readers (training, evaluation) take pandas frames.
            table = features.decoded(features.feature_table(batch, reference))
            if sampling.WEIGHT_COLUMN in batch.schema.names:
                table = table.append_column(sampling.WEIGHT_COLUMN, batch.column(sampling.WEIGHT_COLUMN))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
            rows += table.num_rows
            positives += int(pc.sum(table.column(features.LABEL)).as_py() or 0)
    finally:
        if writer is not None:
            writer.close()
    return {"rows": rows, "positives": positives}


def build(
    env: JobEnvironment,
    training_date: dt.date,
    *,
    train_days: int,
    holdout_days: int,
    label_lag_days: int,
    airflow_run_id: str,
    max_settled_rows: int = contract.DEFAULT_MAX_SETTLED_ROWS,
) -> dict[str, Any]:
    """The snapshot: the train window sampled (every failure, at most ``max_settled_rows``
    settled rows, weighted), the evaluation window whole (the gate measures on every row)."""
    windows = Windows.for_training_date(training_date, train_days, holdout_days, label_lag_days)
    log.info("windows for training date %s: %s", training_date, windows)
    env.work_dir.mkdir(parents=True, exist_ok=True)
    parts: dict[str, Any] = {}
    with warehouse.connect(env.database_url) as conn:
        warehouse.join_windows_by_hash(conn)
        for name, start, end, known_by in (
            ("train", windows.train_start, windows.train_end, windows.train_labels_known_by),
            ("evaluation", windows.eval_start, windows.eval_end, windows.eval_labels_known_by),
        ):
            dates = _as_of_dates(conn, start, end)
            if not dates:
                raise RefusedError(
                    f"no trades were booked in the {name} window {start}..{end}: load more history "
                    "or choose a later training date"
                )
            path = env.work_dir / f"{name}.parquet"
            counts = _write_window(conn, dates, known_by, path, max_settled_rows if name == "train" else None)
            if counts["positives"] == 0:
                raise RefusedError(f"the {name} window {start}..{end} has no failed trades to learn from")
            stored = storage.upload(
                env,
                path,
                f"{contract.training_set_prefix(training_date)}/{name}.parquet",
                counts["rows"],
                "application/vnd.apache.parquet",
            )
            parts[name] = {
                **counts,
                "key": stored.key,
                "uri": stored.uri,
                "sha256": stored.sha256,
                "labels_known_by": known_by.isoformat(),
            }
            log.info("%s window: %d rows, %d failed", name, counts["rows"], counts["positives"])
    run_id = _start_mlflow_run(env, training_date, windows, parts, airflow_run_id)
    manifest = {
        "training_date": training_date.isoformat(),
        "windows": {key: value.isoformat() for key, value in asdict(windows).items()},
        "features": list(features.FEATURES),
        "label": features.LABEL,
        "parts": parts,
        "mlflow_run_id": run_id,
        "airflow_run_id": airflow_run_id,
    }
    manifest_path = env.work_dir / contract.TRAINING_SET_MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    storage.upload(
        env, manifest_path, contract.training_set_manifest_key(training_date), 0, "application/json"
    )
    return manifest


def _start_mlflow_run(
    env: JobEnvironment, training_date: dt.date, windows: Windows, parts: dict[str, Any], airflow_run_id: str
) -> str:
    """Create the training's MLflow run and log both snapshots as its input datasets."""
    import mlflow
    import pyarrow.parquet as pq
    from mlflow.data.pandas_dataset import from_pandas

    client = registry.client(env.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment(registry.EXPERIMENT_NAME)
    )
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"train-{training_date:%Y-%m-%d}",
        tags={"training_date": training_date.isoformat(), "airflow_run_id": airflow_run_id},
    ) as run:
        mlflow.log_params({f"window.{key}": value.isoformat() for key, value in asdict(windows).items()})
        for name, part in parts.items():
            # A sample is enough for the dataset's schema and profile; the source is the snapshot.
            sample = pq.read_table(env.work_dir / f"{name}.parquet").slice(0, 10_000).to_pandas()
            dataset = from_pandas(
                sample,
                source=part["uri"],
                targets=features.LABEL,
                name=f"settlement-{name}-{training_date}",
                digest=part["sha256"][:16],
            )
            mlflow.log_input(dataset, context="training" if name == "train" else "evaluation")
            mlflow.log_metrics({f"{name}_rows": part["rows"], f"{name}_positives": part["positives"]})
            for key, value in part.get("sampling", {}).items():
                mlflow.log_param(f"{name}.sampling.{key}", value)
        mlflow.set_tag("mlflow.runName", f"train-{training_date:%Y-%m-%d}")
        return str(run.info.run_id)


def read_manifest(env: JobEnvironment, training_date: dt.date) -> dict[str, Any]:
    path = env.work_dir / contract.TRAINING_SET_MANIFEST
    try:
        storage.download(env, contract.training_set_manifest_key(training_date), path)
    except timeouts.S3UnavailableError:
        raise  # S3 is down, not the snapshot: a failure worth a retry, not a refusal
    except Exception as error:  # botocore raises several kinds; all mean "not there"
        raise RefusedError(
            f"no training set for {training_date} at {contract.training_set_manifest_key(training_date)}: "
            f"run build-training-set first ({error})"
        ) from error
    return dict(json.loads(path.read_text()))


def part_file(env: JobEnvironment, manifest: dict[str, Any], name: str) -> Path:
    """One window of the snapshot as a local Parquet file, verified against the manifest's checksum."""
    part = manifest["parts"][name]
    path = storage.download(env, part["key"], env.work_dir / f"{name}.parquet")
    if storage.sha256_of(path) != part["sha256"]:
        raise RefusedError(
            f"{part['uri']} does not match the checksum in its manifest: rebuild the training set"
        )
    return path


def load_part(
    env: JobEnvironment, manifest: dict[str, Any], name: str, columns: tuple[str, ...] | None = None
) -> Any:
    """One window of the snapshot as a pandas frame (the train window, sampled to fit): every
    column, or those of ``columns`` the file has (a window kept whole has no weights)."""
    import pandas as pd
    import pyarrow.parquet as pq

    path = part_file(env, manifest, name)
    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = tuple(column for column in columns if column in present)
    return pd.read_parquet(path, columns=list(columns) if columns is not None else None)


def head_of_part(env: JobEnvironment, manifest: dict[str, Any], name: str, rows: int) -> Any:
    """The first ``rows`` rows of a window, every column (a sample of its schema)."""
    import pyarrow.parquet as pq

    batches = pq.ParquetFile(part_file(env, manifest, name)).iter_batches(batch_size=rows)
    return next(batches).to_pandas()


@dataclass(frozen=True)
class ScoredWindow:
    """A window's labels and each model's scores, in the file's row order."""

    labels: Any  # int8 array
    scores: dict[str, Any]  # role -> float64 array
    sample: Any  # a frame of at most sample_rows rows of the window (plots, the dataset's profile)


def score_window(
    path: Path,
    predictors: dict[str, Callable[[Any], Any]],
    *,
    sample_rows: int = 0,
    seed: int = 0,
    on_batch: Callable[[Any, dict[str, Any]], None] | None = None,
) -> ScoredWindow:
    """Score a window (the evaluation's: never sampled, 17M rows at a million trades a day) in
    batches of EVALUATION_BATCH_ROWS, so memory holds one batch's frame, not the window's.
    ``on_batch(frame, scores)`` sees each batch (the evaluation's predictions file)."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    keep_share = min(1.0, sample_rows / max(parquet.metadata.num_rows, 1))
    rng = np.random.default_rng(seed)
    labels, samples = [], []
    scores: dict[str, list[Any]] = {role: [] for role in predictors}
    for batch in parquet.iter_batches(batch_size=EVALUATION_BATCH_ROWS):
        frame = batch.to_pandas()
        model_input = features.model_frame(frame)
        batch_scores = {role: predict(model_input) for role, predict in predictors.items()}
        for role, values in batch_scores.items():
            scores[role].append(np.asarray(values, dtype="float64"))
        labels.append(frame[features.LABEL].to_numpy(dtype="int8"))
        if keep_share > 0:
            samples.append(frame[rng.random(len(frame)) < keep_share])
        if on_batch is not None:
            on_batch(frame, batch_scores)
    return ScoredWindow(
        labels=np.concatenate(labels) if labels else np.zeros(0, dtype="int8"),
        scores={role: np.concatenate(parts) if parts else np.zeros(0) for role, parts in scores.items()},
        sample=pd.concat(samples, ignore_index=True) if samples else None,
    )
