"""``score``: one shard of a business date's pending trades, scored by a pinned model version.

Per shard, streamed in Arrow batches (memory does not grow with the shard), in four threads:
  read ahead: the pending trades, in index order, with COPY (warehouse.prefetched), from the
              start: while the model is resolved and loaded;
  this one:   point-in-time features -> predict (and, in shadow, the challenger's predict on the
              same features: reading and building them is the expensive part, done once);
  write behind, each in batch order (warehouse.written_behind):
    one thread appends to the date's next partition of ml.trade_scores (COPY), and the
    challenger's scores to the date's next partition of ml.shadow_scores;
    another writes the shard's Parquet part (a row group at a time) and Kafka for high-risk trades
    (the champion's only: the challenger's scores go nowhere else).
Then the Parquet part is uploaded, every Kafka delivery is confirmed, and only then is the
shard's transaction committed: its rows are in the next partition only when the whole shard
succeeded.

The next partition, ml.trade_scores_pYYYYMMDD_next (and ml.shadow_scores_pYYYYMMDD_next when a
challenger is shadowed), is prepared by the Airflow DAG before the shards start and attached by
it after they all succeeded (one transaction for both), then the manifest is written last. The
shards write into it side by side; each first deletes its own
slice (the trades whose id hashes to it), in the same transaction, so a rerun of one shard
replaces its rows. A dry run writes a staging work table of its own instead (and nothing to
S3 or Kafka). The Parquet part goes to the run's own folder, scores/business_date=D/run=<attempt>/,
never to one that the date's manifest lists (docs/pod-contract.md): a shard rerun overwrites
its own part with the same bytes, and produces the same message keys.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from settlement_model import compiled, contract, features, registry, registry_http, storage, warehouse
from settlement_model.contract import JobEnvironment, RefusedError
from settlement_model.messaging import ReliablePublisher

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

HIGH_RISK_TOPIC = "settlement-risk.high"
MESSAGE_SCHEMA_VERSION = 1
PARQUET_ROW_GROUP_ROWS = 262_144  # fixed row groups: the same rows always give the same bytes
# Batches of pending trades (~6 MB each, warehouse.BATCH_BYTES) read ahead of scoring: room for
# what the read gets through while the shard loads its model and opens its outputs (about half
# a second), which it would otherwise wait for. A fixed bound: memory stays flat.
READ_AHEAD_BATCHES = 8


@dataclass(frozen=True)
class ScoreRequest:
    business_date: dt.date
    shard_index: int
    shard_count: int
    scoring_run_id: str
    high_risk_threshold: float
    medium_risk_threshold: float
    model_alias: str | None = registry.CHAMPION
    model_version: str | None = None
    dry_run: bool = False
    topic: str = HIGH_RISK_TOPIC
    # The folder of the run's parts, scores/business_date=D/run=<attempt>/ (the DAG's plan names
    # it); by default the run id's.
    attempt: str = ""
    # The challenger's version, scored beside the champion into ml.shadow_scores only.
    shadow_version: str | None = None

    def __post_init__(self) -> None:
        attempt = self.attempt or contract.scoring_attempt(self.scoring_run_id)
        object.__setattr__(self, "attempt", contract.check_attempt(attempt))
        if not 0 <= self.medium_risk_threshold <= self.high_risk_threshold <= 1:
            raise ValueError(
                "need 0 <= medium-risk threshold <= high-risk threshold <= 1, got "
                f"{self.medium_risk_threshold} and {self.high_risk_threshold}"
            )
        if self.shadow_version is not None and self.dry_run:
            raise ValueError(
                "a dry run scores no shadow: it writes a work table of the champion's scores only"
            )
        features.feature_parameters([self.business_date], self.shard_index, self.shard_count)


@dataclass(frozen=True)
class ShardResult:
    business_date: str
    shard_index: int
    shard_count: int
    model_version: str
    rows: int
    high_risk: int
    scores_table: str  # where the rows went: the next partition, or a dry run's work table
    object_uri: str | None
    sha256: str | None
    shadow_version: str | None = None
    shadow_rows: int = 0


RISK_BANDS = ("low", "medium", "high")


def risk_bands(scores: Any, medium: float, high: float) -> pa.Array:
    """Each score's band (strictly above a threshold), as an Arrow string column. Built from
    the band's index (how many thresholds the score is above) through a dictionary: a numpy
    array of strings converted to Arrow cost 0.12-0.34 s per million scores, this 0.01 s."""
    import numpy as np
    import pyarrow as pa

    band = (scores > medium).astype(np.int8) + (scores > high).astype(np.int8)
    return pa.DictionaryArray.from_arrays(pa.array(band), pa.array(RISK_BANDS)).cast(pa.string())


# The scores part's columns with few distinct values, dictionary-encoded. Not trade_id nor score,
# distinct in every row: their dictionaries were built, then given up, in every row group (the
# part's encoding 0.37 -> 0.24 s per 1,000,000 scores without them, and 12% smaller).
PARQUET_DICTIONARY_COLUMNS = (
    "business_date",
    "counterparty_id",
    "instrument_id",
    "settle_date",
    "model_name",
    "model_version",
    "risk_band",
)


def parquet_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("business_date", pa.date32()),
            ("trade_id", pa.string()),
            ("counterparty_id", pa.string()),
            ("instrument_id", pa.string()),
            ("settle_date", pa.date32()),
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            ("score", pa.float64()),
            ("risk_band", pa.string()),
        ]
    )


def scored_rows(
    batch: pa.RecordBatch, scores: Any, request: ScoreRequest, model: registry.ResolvedModel
) -> pa.Table:
    """The Parquet columns for a scored batch: only deterministic values (no run id, no clock)."""
    import pyarrow as pa

    n = batch.num_rows
    return pa.table(
        {
            "business_date": pa.repeat(pa.scalar(request.business_date, pa.date32()), n),
            "trade_id": batch.column("trade_id"),
            "counterparty_id": batch.column("counterparty_id"),
            "instrument_id": batch.column("instrument_id"),
            "settle_date": batch.column("settle_date"),
            "model_name": pa.repeat(pa.scalar(model.name, pa.string()), n),
            "model_version": pa.repeat(pa.scalar(model.version, pa.string()), n),
            "score": pa.array(scores, pa.float64()),
            "risk_band": risk_bands(scores, request.medium_risk_threshold, request.high_risk_threshold),
        },
        schema=parquet_schema(),
    )


def staging_rows(rows: pa.Table, scoring_run_id: str, scored_at: dt.datetime) -> pa.Table:
    """The ml.trade_scores columns (the table the staging work table copies)."""
    import pyarrow as pa

    n = rows.num_rows
    return pa.table(
        {
            "business_date": rows.column("business_date"),
            "trade_id": rows.column("trade_id"),
            "model_name": rows.column("model_name"),
            "model_version": rows.column("model_version"),
            "score": rows.column("score"),
            "risk_band": rows.column("risk_band"),
            "scoring_run_id": pa.repeat(pa.scalar(scoring_run_id, pa.string()), n),
            "scored_at": pa.repeat(pa.scalar(scored_at, pa.timestamp("us", tz="UTC")), n),
        }
    )


def shadow_rows(
    scored: pa.Table, scores: Any, shadow: registry.ResolvedModel, scoring_run_id: str, scored_at: dt.datetime
) -> pa.Table:
    """The ml.shadow_scores columns: the challenger's scores of the trades of a scored batch."""
    import pyarrow as pa

    n = scored.num_rows
    return pa.table(
        {
            "business_date": scored.column("business_date"),
            "trade_id": scored.column("trade_id"),
            "model_name": pa.repeat(pa.scalar(shadow.name, pa.string()), n),
            "model_version": pa.repeat(pa.scalar(shadow.version, pa.string()), n),
            "score": pa.array(scores, pa.float64()),
            "scoring_run_id": pa.repeat(pa.scalar(scoring_run_id, pa.string()), n),
            "scored_at": pa.repeat(pa.scalar(scored_at, pa.timestamp("us", tz="UTC")), n),
        }
    )


def high_risk_messages(rows: pa.Table, request: ScoreRequest) -> list[tuple[str, dict[str, Any]]]:
    """(key, value) for every high-risk row: key = trade id, value with its schema version."""
    import pyarrow.compute as pc

    flagged = rows.filter(pc.equal(rows.column("risk_band"), "high")).to_pylist()
    return [
        (
            row["trade_id"],
            {
                "schema_version": MESSAGE_SCHEMA_VERSION,
                "trade_id": row["trade_id"],
                "business_date": row["business_date"].isoformat(),
                "model_name": row["model_name"],
                "model_version": row["model_version"],
                "score": row["score"],
                "risk_band": row["risk_band"],
                "high_risk_threshold": request.high_risk_threshold,
                "counterparty_id": row["counterparty_id"],
                "instrument_id": row["instrument_id"],
                "settle_date": row["settle_date"].isoformat(),
            },
        )
        for row in flagged
    ]


def encoded_high_risk_messages(rows: pa.Table, request: ScoreRequest) -> list[tuple[str, bytes]]:
    """``high_risk_messages`` already encoded, byte for byte ``messaging.encode`` of each value
    (a unit test checks it), several times faster: the keys are in encode's sorted order, the
    values that are the same for every row are encoded once, and the others are read column
    by column (JSON-encoded only when they hold a character JSON escapes)."""
    import pyarrow.compute as pc

    flagged = rows.filter(pc.equal(rows.column("risk_band"), "high"))
    if flagged.num_rows == 0:
        return []
    for name in ("business_date", "model_name", "model_version"):
        if pc.count_distinct(flagged.column(name)).as_py() != 1:
            raise ValueError(f"a scored batch has several values of {name}")
    same = {
        name: flagged.column(name)[0].as_py() for name in ("business_date", "model_name", "model_version")
    }
    dumps = json.dumps
    head = f'{{"business_date":{dumps(same["business_date"].isoformat())},"counterparty_id":'
    middle = f',"high_risk_threshold":{dumps(request.high_risk_threshold)},"instrument_id":'
    tail = (
        f',"model_name":{dumps(same["model_name"])},"model_version":{dumps(same["model_version"])}'
        f',"risk_band":"high","schema_version":{dumps(MESSAGE_SCHEMA_VERSION)},"score":'
    )
    columns = zip(
        _json_strings(flagged.column("trade_id")),
        _json_strings(flagged.column("counterparty_id")),
        _json_strings(flagged.column("instrument_id")),
        _json_numbers(flagged.column("score")),
        _json_strings(pc.strftime(flagged.column("settle_date"), "%Y-%m-%d")),
        flagged.column("trade_id").to_pylist(),
        strict=True,
    )
    return [
        (
            key,
            (
                f"{head}{counterparty}{middle}{instrument}{tail}{score}"
                f',"settle_date":{settle_date},"trade_id":{trade_id}}}'
            ).encode(),
        )
        for trade_id, counterparty, instrument, score, settle_date, key in columns
    ]


# Characters json.dumps writes as they are (printable ASCII but the quote and the backslash).
_PLAIN_JSON_TEXT = r"^[ !#-\[\]-~]*$"


def _json_strings(column: Any) -> list[str]:
    """Each string as json.dumps writes it; quoted directly when nothing needs escaping."""
    import pyarrow.compute as pc

    values = column.to_pylist()
    if pc.all(pc.match_substring_regex(column, _PLAIN_JSON_TEXT)).as_py() and column.null_count == 0:
        return [f'"{value}"' for value in values]
    return [json.dumps(value) for value in values]


def _json_numbers(column: Any) -> list[str]:
    """Each float as json.dumps writes it: repr for finite numbers (what json itself calls)."""
    import numpy as np

    values = column.to_numpy()
    if np.isfinite(values).all():
        return [float.__repr__(value) for value in values.tolist()]
    return [json.dumps(value) for value in values.tolist()]


class RowGroupWriter:
    """A Parquet file written in fixed-size row groups, whatever the input batch sizes.
    Dictionary-encoded: the columns with few distinct values (``dictionary_columns``, by
    default all)."""

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        row_group_rows: int = PARQUET_ROW_GROUP_ROWS,
        dictionary_columns: tuple[str, ...] | None = None,
    ) -> None:
        import pyarrow.parquet as pq

        use_dictionary = True if dictionary_columns is None else list(dictionary_columns)
        self._writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=use_dictionary)
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._row_group_rows = row_group_rows
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        import pyarrow as pa

        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self._row_group_rows:
            combined = pa.concat_tables(self._pending)
            self._write_group(combined.slice(0, self._row_group_rows))
            rest = combined.slice(self._row_group_rows)
            self._pending, self._pending_rows = [rest], rest.num_rows

    def close(self) -> int:
        import pyarrow as pa

        if self._pending_rows:
            self._write_group(pa.concat_tables(self._pending))
        self._writer.close()
        return self.rows

    def _write_group(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=self._row_group_rows)
        self.rows += table.num_rows


BEHIND = "behind: "  # the phases of the write-behind threads: they overlap the others


class TimeSplit:
    """Where a shard's time goes, phase by phase (logged at the end, read by make bench).
    Phases named ``BEHIND...`` run in the write-behind threads, at the same time as others."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def timed(self, name: str, items: Any) -> Iterator[Any]:
        """The items of an iterator, the time spent waiting for each counted as ``name``."""
        iterator = iter(items)
        while True:
            with self.phase(name):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item

    def summary(self) -> dict[str, Any]:
        total = time.perf_counter() - self.started
        split = {name: round(seconds, 3) for name, seconds in self.seconds.items()}
        this_thread = sum(seconds for name, seconds in self.seconds.items() if not name.startswith(BEHIND))
        split["other"] = round(total - this_thread, 3)
        return {"total": round(total, 3), "phases": split, "peak_rss_mib": _peak_resident_mib()}


_END = object()


def _peak_resident_mib() -> int:
    """This process's own high-water mark (VmHWM). Not getrusage's ru_maxrss: that one keeps
    the peak of a parent forked before exec, e.g. a large Airflow worker or benchmark."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) >> 10  # kB
    except (OSError, StopIteration):
        return -1


def _resident_mib() -> int:
    """The process's resident set now (Linux), to see whether memory grows with the rows."""
    import os

    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20
    except OSError:
        return -1


@dataclass(frozen=True)
class _Predictor:
    """A loaded model version: its compiled trees in numpy when it has that shape, else its pipeline."""

    model: registry.ResolvedModel
    pipeline: Any
    compiled: compiled.CompiledModel | None

    def predict(self, batch: pa.Table) -> Any:
        """Each trade's probability of failing, from the batch's features (each model encodes
        them its own way: a challenger may be trained on other categories or features)."""
        if self.compiled is not None:
            return self.compiled.predict(self.compiled.encoder.transform_arrow(batch))
        return self.pipeline.predict_proba(features.model_input(batch))[:, 1]


@dataclass
class _Shard:
    """One shard's scoring in progress: the models, and where the scores go."""

    request: ScoreRequest
    champion: _Predictor
    shadow: _Predictor | None
    reference: features.Reference
    scored_at: dt.datetime
    writer: Any  # the scores table's connection
    schema: str
    table: str
    shadow_table: str | None  # the date's next partition of ml.shadow_scores, when shadowing
    parquet: RowGroupWriter
    publisher: ReliablePublisher | None
    split: TimeSplit = field(default_factory=TimeSplit)
    written: int = 0
    shadow_written: int = 0
    high: int = 0

    def score(self, pending: Any, submits: tuple[Any, ...]) -> None:
        """Features and scores of a batch (this thread); its writes go to each of ``submits``,
        as (the champion's scored rows, the challenger's shadow rows or None)."""
        phase = self.split.phase
        with phase("features"):
            batch = features.feature_table(pending, self.reference)
        with phase("predict"):
            scored = scored_rows(batch, self.champion.predict(batch), self.request, self.champion.model)
        shadow = None
        if self.shadow is not None:
            with phase("shadow predict"):
                shadow = shadow_rows(
                    scored,
                    self.shadow.predict(batch),
                    self.shadow.model,
                    self.request.scoring_run_id,
                    self.scored_at,
                )
        with phase("wait for writes"):
            for submit in submits:
                submit((scored, shadow))

    def copy_scores(self, rows: tuple[pa.Table, pa.Table | None]) -> None:
        """A scored batch's rows into the scores table, and the challenger's into the shadow
        table (a write-behind thread, in batch order; the same transaction, committed last)."""
        scored, shadow = rows
        with self.split.phase(f"{BEHIND}scores copy"):
            warehouse.ingest(
                self.writer,
                self.table,
                staging_rows(scored, self.request.scoring_run_id, self.scored_at),
                schema=self.schema,
            )
        self.written += scored.num_rows
        if shadow is not None and self.shadow_table is not None:
            with self.split.phase(f"{BEHIND}shadow copy"):
                warehouse.ingest(self.writer, self.shadow_table, shadow, schema=warehouse.SCORES_SCHEMA)
            self.shadow_written += shadow.num_rows
        log.info("copied %d rows so far, resident %d MiB", self.written, _resident_mib())

    def write_outputs(self, rows: tuple[pa.Table, pa.Table | None]) -> None:
        """A scored batch into the Parquet part and Kafka (another write-behind thread, in batch
        order: the same rows give the same bytes and the same messages in the same order). The
        champion's only: shadow scores never reach the files or the topic."""
        scored, _ = rows
        with self.split.phase(f"{BEHIND}parquet"):
            self.parquet.write(scored)
        with self.split.phase(f"{BEHIND}kafka produce"):
            messages = encoded_high_risk_messages(scored, self.request)
            if self.publisher is not None:
                for message_key, payload in messages:
                    self.publisher.send_encoded(message_key, payload)
        self.high += len(messages)


def _checked_model(
    env: JobEnvironment, alias: str | None, version: str | None
) -> tuple[registry.ResolvedModel, dict[str, Any]]:
    """The pinned model version (or the alias's) and its MLmodel, refused when missing or when
    its inputs differ from the features. Over MLflow's REST API: no MLflow import."""
    http = registry_http.Registry(env.mlflow_tracking_uri)
    model = registry.resolve_over_http(http, env.model_name, None if version else alias, version)
    described = registry.model_description(http, model)
    registry.check_input_schema(model, registry.signature_inputs(model, described))
    return model, described


def _loaded_model(
    env: JobEnvironment, model: registry.ResolvedModel, described: dict[str, Any]
) -> _Predictor:
    """The trees saved with the version when it has them (no scikit-learn needed, the pipeline
    is not loaded); otherwise the pipeline from MLflow, compiled here when it has the shape
    compiled.py knows."""
    saved = registry.load_compiled(registry_http.Registry(env.mlflow_tracking_uri), model, described)
    if saved is not None:
        log.info("predicting with the compiled trees saved with version %s", model.version)
        return _Predictor(model, None, saved)
    registry.client(env.mlflow_tracking_uri)  # the URIs MLflow's loader reads
    pipeline = registry.load(model)
    fast = compiled.compile_pipeline(pipeline)
    log.info(
        "predicting with %s of version %s",
        "the trees compiled from the pipeline" if fast else "the pipeline itself",
        model.version,
    )
    return _Predictor(model, pipeline, fast)


def _shadow_model(env: JobEnvironment, request: ScoreRequest) -> _Predictor | None:
    """The challenger to score beside the champion, checked and loaded like it; None without one."""
    if request.shadow_version is None:
        return None
    try:
        shadow, described = _checked_model(env, None, request.shadow_version)
    except RefusedError as refused:
        raise RefusedError(
            f"the challenger (version {request.shadow_version}) cannot be scored in shadow: {refused}. "
            "Nothing was written: rerun with the shadow param off to score the champion alone"
        ) from refused
    return _loaded_model(env, shadow, described)


def _scores_table(request: ScoreRequest) -> tuple[str, str]:
    """(schema, table) the shard's rows go to: the date's next partition, which the DAG prepared
    and will attach; a dry run's own staging work table, which nothing swaps in."""
    if request.dry_run:
        return warehouse.STAGING_SCHEMA, contract.staging_table_name(
            request.business_date, request.shard_index, request.shard_count
        )
    return warehouse.SCORES_SCHEMA, contract.next_partition_name(request.business_date)


def _open_scores_table(writer: Any, request: ScoreRequest, table: str) -> None:
    """In the writer's transaction (committed last): a dry run's work table created afresh;
    otherwise this shard's slice of the next partition deleted, so its rows replace it."""
    if request.dry_run:
        for statement in warehouse.staging_table_ddl(table, like="ml.trade_scores"):
            warehouse.execute(writer, statement)
        return
    if not warehouse.table_exists(writer, warehouse.SCORES_SCHEMA, table):
        raise RefusedError(
            f"{warehouse.SCORES_SCHEMA}.{table} does not exist: the DAG's plan_shards task prepares it "
            "before the shards and swap_scores consumes it; rerun the whole run (not this shard alone)"
        )
    deleted = warehouse.delete_shard_slice(writer, table)
    if deleted:
        log.info("replacing this shard's %d rows already in %s.%s", deleted, warehouse.SCORES_SCHEMA, table)


def _open_shadow_table(writer: Any, request: ScoreRequest) -> str | None:
    """The date's next partition of ml.shadow_scores, this shard's slice deleted (like the
    champion's), or None when no challenger is shadowed."""
    if request.shadow_version is None:
        return None
    table = contract.next_partition_name(request.business_date, contract.SHADOW_SCORES)
    if not warehouse.table_exists(writer, warehouse.SCORES_SCHEMA, table):
        raise RefusedError(
            f"{warehouse.SCORES_SCHEMA}.{table} does not exist: the DAG's plan_shards task prepares it "
            "when it shadows a challenger; rerun the whole run (not this shard alone)"
        )
    warehouse.delete_shard_slice(writer, table)
    return table


def score_shard(env: JobEnvironment, request: ScoreRequest) -> ShardResult:
    split = TimeSplit()
    schema, table = _scores_table(request)
    key = contract.part_key(request.business_date, request.attempt, request.shard_index, request.shard_count)
    part_path = env.work_dir / Path(key).name
    scored_at = dt.datetime.now(dt.UTC)
    parameters = features.feature_parameters(
        [request.business_date], request.shard_index, request.shard_count
    )
    with warehouse.connect(env.database_url) as reader, warehouse.connect(env.database_url) as writer:
        warehouse.set_parameters(reader, parameters)
        warehouse.read_in_index_order(reader)  # rows stream from the index as it is scanned
        warehouse.set_parameters(writer, parameters)
        # Both reads start now, in threads, while this one resolves, checks and loads the model
        # and opens the outputs (the registry's round trips, the clients' imports): the
        # reference data (above all the counterparties' history) on the writer's session, the
        # pending trades on the reader's, up to READ_AHEAD_BATCHES ahead, so that scoring starts
        # on rows already read. Nothing is written before the model is checked; a refused model
        # stops the read (the block is left).
        query = warehouse.stream(reader, features.pending_trades_sql(one_as_of_date=True))
        read_reference = partial(features.Reference.read, partial(warehouse.fetch_table, writer))
        with (
            warehouse.in_background(read_reference) as reference,
            warehouse.prefetched(query, depth=READ_AHEAD_BATCHES) as batches,
        ):
            with split.phase("resolve model"):
                model, described = _checked_model(env, request.model_alias, request.model_version)
            log.info(
                "scoring %s shard %d/%d with %s version %s",
                request.business_date,
                request.shard_index,
                request.shard_count,
                model.name,
                model.version,
            )
            with split.phase("load model"):
                champion = _loaded_model(env, model, described)
                shadow = _shadow_model(env, request)
            with split.phase("outputs"):  # their libraries load while the reference data is read
                parquet = RowGroupWriter(
                    part_path, parquet_schema(), dictionary_columns=PARQUET_DICTIONARY_COLUMNS
                )
                s3 = None if request.dry_run else storage.client(env)
                publisher = None if request.dry_run else ReliablePublisher(env.kafka_config, request.topic)
            with split.phase("reference data"):
                reference_data = reference.result()
            with split.phase("scores table"):
                _open_scores_table(writer, request, table)
                shadow_table = _open_shadow_table(writer, request)
            out = _Shard(
                request=request,
                champion=champion,
                shadow=shadow,
                reference=reference_data,
                scored_at=scored_at,
                writer=writer,
                schema=schema,
                table=table,
                shadow_table=shadow_table,
                parquet=parquet,
                publisher=publisher,
                split=split,
            )
            # Writing behind in threads (the read ahead started above): the database's work (the
            # scan, the COPY into the scores table) and the Parquet encoding overlap this thread's
            # scoring, and each other: the COPY in one thread, the Parquet part and Kafka in another.
            stored = None
            with warehouse.written_behind(out.copy_scores) as to_scores_table:
                with warehouse.written_behind(out.write_outputs) as to_outputs:
                    for pending in split.timed("wait for rows", batches):
                        out.score(pending, (to_scores_table, to_outputs))
                # The Parquet part is complete: it is uploaded while the last batches may still
                # be on their way into the scores table (their commit comes last, below).
                with split.phase("parquet"):
                    part_rows = out.parquet.close()
                if s3 is not None:
                    with split.phase("upload"):
                        stored = storage.upload(
                            env, part_path, key, part_rows, "application/vnd.apache.parquet", s3=s3
                        )
        if out.publisher is not None:
            with split.phase("kafka flush"):
                delivered = out.publisher.close()
            log.info("%d high-risk messages acknowledged on %s", delivered, request.topic)
        with split.phase("commit"):
            writer.commit()  # last: the rows are there only when everything above succeeded
    part_path.unlink(missing_ok=True)
    result = ShardResult(
        business_date=request.business_date.isoformat(),
        shard_index=request.shard_index,
        shard_count=request.shard_count,
        model_version=model.version,
        rows=out.written,
        high_risk=out.high,
        scores_table=f"{schema}.{table}",
        object_uri=stored.uri if stored else None,
        sha256=stored.sha256 if stored else None,
        shadow_version=request.shadow_version,
        shadow_rows=out.shadow_written,
    )
    log.info("shard done: %s", json.dumps(result.__dict__))
    log.info("time split: %s", json.dumps(split.summary()))
    return result
