"""Scoring a business date: the model job against a naive pipeline and the machine's ceiling.

In a throwaway warehouse (all indexes and constraints in place) with a synthetic world from
the project's generator: a history for training and for the counterparties' fail records,
then a business date with about 1,000,000 pending trades. A model is trained on the history
by the real jobs and registered under its own name. Then, on the same rows, in one run:

  job       the scoring job as the DAG runs it, with the shard count of airflow_settings.yaml
            (and once with another): the date's next partition prepared, then
            ``python -m settlement_model score`` per shard (read with COPY/Arrow, point-in-time
            features, predict, COPY into the next partition, Parquet to S3, Kafka for high-risk
            trades), then the swap (the next partition attached to ml.trade_scores) and the
            manifest;
  shadow    the same job (shards as configured) with a second model version, the challenger,
            in shadow, as the DAG runs it when the registry has one: its next partition of
            ml.shadow_scores prepared too, each shard predicting both versions from the same
            features and COPYing the challenger's scores in, both partitions swapped in. The
            challenger is trained like the model, on the same snapshot, with another seed.
            Target: at most 1.6x the job's time;
  naive     the same work written the obvious way, as a script in its own process (like the
            job): pandas ``read_sql`` of the same feature query, MLflow's model and
            ``predict_proba``, ``DataFrame.to_sql`` into the prepared next partition,
            ``to_parquet``, one Kafka ``produce`` + ``flush`` per message, the same swap;
  ceiling   a plain binary COPY out of the date's pending trades and a plain COPY in of as
            many score rows into an unindexed table: the I/O no scoring job can avoid.

Then the memory of one scoring shard of 5,000,000 pending trades (the 1M day's trades copied
four more times under new ids): the peak resident set of the job's process. And the model's
ROC AUC on its evaluation window next to the Bayes-optimal one (from the generator's true
fail probabilities).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import Result
from benchmarks.model_jobs import model_job_environment
from benchmarks.process_memory import wait_with_peak_rss
from devstack.stack_env import kafka_client_of

DATABASE = "warehouse_bench_scoring"
MODEL_NAME = "settlement_fail_risk_bench"
SEED = 11
HISTORY_DAYS = 45
HISTORY_TRADES_PER_DAY = 10_000
BENCH_TRADES = 1_005_100  # ~0.5% are cancelled on the booking day: ~1,000,000 pending
MEMORY_COPIES = 4  # + 4 copies: ~5,000,000 pending for the memory measurement
OTHER_SHARDS = 2  # measured too: one shard process per core
HIGH, MEDIUM = 0.1, 0.05  # more high-risk messages than the DAG's defaults: Kafka is measured too
REPO = Path(__file__).resolve().parents[1]
NAME = "scoring"


def _url(base: str, database: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + database


@dataclass
class Bench:
    """Where the benchmark runs: the stack, its scratch database, a Kafka topic, a work dir;
    and, once trained, the model version every scoring run uses and the challenger the shadow
    run scores beside it."""

    stack: dict[str, str]
    urls: dict[str, str]
    topic: str
    work: Path
    version: str = ""
    challenger: str = ""


def run(stack: dict[str, str]) -> list[Result]:
    from devstack import postgres

    os.environ["STACK_POSTGRES_PORT"] = stack["POSTGRES_PORT"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        os.environ[name] = stack[name]
    urls = {
        "owner": _url(stack["WAREHOUSE_OWNER_URL"], DATABASE),
        "writer": _url(stack["POSTGRES_URL"], DATABASE),
        "reader": _url(stack["REPORTING_READER_URL"], DATABASE),
        "upstream": _url(stack["UPSTREAM_FEED_URL"], DATABASE),
    }
    postgres.create_scratch_database(DATABASE)
    topic = f"bench.settlement-risk.high.{uuid.uuid4().hex[:8]}"
    _create_topic(stack, topic)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scoring-") as folder:
            return _measure(Bench(stack, urls, topic, Path(folder)))
    finally:
        _delete_topic(stack, topic)
        postgres.drop_scratch_database(DATABASE)


def _measure(bench: Bench) -> list[Result]:
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    stack, urls = bench.stack, bench.urls
    upgrade_to_head(urls["owner"])
    history_end, bench_date = _seed(urls)
    print(f"    world seeded: history to {history_end}, benchmark date {bench_date}", flush=True)
    quality = _train(stack, urls, history_end, bench.work)
    bench.version = quality["version"]
    print(
        f"    model {quality['version']}: ROC AUC {quality['model']:.4f}, Bayes {quality['bayes']:.4f}",
        flush=True,
    )
    bench.challenger = _train_challenger(bench, history_end)
    print(f"    challenger {bench.challenger}: same parameters, another seed", flush=True)
    pending = _load_bench_day(urls, bench_date)
    print(f"    {pending:,} trades pending on {bench_date}", flush=True)

    shards = configured_shards()
    other = OTHER_SHARDS if shards != OTHER_SHARDS else 1
    job = min(_timed(lambda: _job(bench, bench_date, shards)) for _ in range(2))
    print(f"    job ({shards} shards, as configured): {job:.1f}s", flush=True)
    shadow, predicts = _shadow_job(bench, bench_date, shards)
    print(f"    job with {bench.challenger} in shadow ({shards} shards): {shadow:.1f}s", flush=True)
    other_job = _timed(lambda: _job(bench, bench_date, other))
    print(f"    job ({other} shards): {other_job:.1f}s", flush=True)
    scores = _export_scores(urls, bench_date)
    ceiling = min(_timed(lambda: _ceiling(urls, bench_date, scores)) for _ in range(2))
    print(f"    ceiling: {ceiling:.1f}s", flush=True)
    naive = _timed(lambda: _naive_in_its_own_process(bench, bench_date))
    print(f"    naive: {naive:.1f}s", flush=True)

    total = _copy_trades(urls, bench_date, MEMORY_COPIES)
    peak_bytes, seconds = _peak_memory(bench, bench_date)
    print(f"    {total:,} pending: peak {peak_bytes / 2**30:.2f} GiB in {seconds:.0f}s", flush=True)
    return [
        Result(NAME, "pending trades scored", pending, "trades", f"business date {bench_date}"),
        Result(
            NAME,
            "job end to end",
            job,
            "s",
            f"{pending / job:,.0f} trades/s; prepare, {shards} shard process(es) as the DAG runs them "
            "here (airflow_settings.yaml): read, features, predict, COPY into the next partition, "
            "Parquet to S3, Kafka; then swap and manifest",
        ),
        Result(
            NAME,
            "job with a challenger in shadow",
            shadow,
            "s",
            f"the same date and shards, version {bench.challenger} also scored into ml.shadow_scores "
            f"(one run); predict {predicts['predict']:.1f}s, shadow predict "
            f"{predicts['shadow predict']:.1f}s (shards' sums)",
        ),
        Result(NAME, f"job end to end, {other} shard(s)", other_job, "s", "the same, another shard count"),
        Result(NAME, "naive pipeline", naive, "s", "pandas read_sql + to_sql, produce + flush per message"),
        Result(
            NAME,
            "ceiling: plain COPY out and in",
            ceiling,
            "s",
            "binary COPY of the pending trades out, of as many score rows in",
        ),
        Result(NAME, "speed-up over naive", naive / job, "x", "target >= 10"),
        Result(NAME, "job / ceiling", job / ceiling, "x", "target <= 2 (issue 17; 3 before it)"),
        Result(NAME, "job with a challenger in shadow / job", shadow / job, "x", "target <= 1.6"),
        Result(
            NAME,
            "peak memory of one shard",
            peak_bytes / 2**30,
            "GiB",
            f"{total:,} pending trades in one shard, {seconds:.0f}s; target < 1.5",
        ),
        Result(NAME, "model ROC AUC", quality["model"], "", f"evaluation window {quality['window']}"),
        Result(NAME, "Bayes-optimal ROC AUC", quality["bayes"], "", "true fail probabilities, same rows"),
        Result(NAME, "AUC gap to Bayes-optimal", quality["bayes"] - quality["model"], "", "target <= 0.03"),
    ]


def configured_shards() -> int:
    """The shard count the local deployment scores with (airflow_settings.yaml), so the
    benchmark measures the job as the DAG runs it."""
    from devstack import settings
    from include.markets_ops.scoring.plan import SHARDS_VARIABLE

    return int(settings.variable(SHARDS_VARIABLE))


def _timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the data


def _seed(urls: dict[str, str]) -> tuple[dt.date, dt.date]:
    import psycopg

    from include.markets_ops.synthetic import seed
    from include.markets_ops.synthetic.config import DEMO_DATE, GeneratorConfig, default_epoch

    config = GeneratorConfig(
        seed=SEED, epoch=default_epoch(DEMO_DATE, HISTORY_DAYS - 1), trades_per_day=HISTORY_TRADES_PER_DAY
    )
    dates = seed.business_dates(config.epoch, HISTORY_DAYS + 1)
    with psycopg.connect(urls["upstream"]) as upstream, psycopg.connect(urls["writer"]) as writer:
        seed.seed_history(writer, upstream, config, dates[:-1], progress=lambda _: None)
    return dates[-2], dates[-1]


def _load_bench_day(urls: dict[str, str], bench_date: dt.date) -> int:
    """The benchmark date's bookings at volume: the same world (same seed, same reference
    data), another trades_per_day; only the trades are loaded (no outcome is due yet)."""
    import psycopg

    from include.markets_ops.feed.landing import csv_chunks
    from include.markets_ops.synthetic import bookings, daily
    from include.markets_ops.synthetic.config import DEMO_DATE, GeneratorConfig, default_epoch

    config = GeneratorConfig(
        seed=SEED, epoch=default_epoch(DEMO_DATE, HISTORY_DAYS - 1), trades_per_day=BENCH_TRADES
    )
    trades = daily.trades_table(bookings.generate(config, bench_date))
    columns = ", ".join(trades.column_names)
    copy_in = f"COPY ops.trades ({columns}) FROM STDIN (FORMAT csv, HEADER true)"
    with psycopg.connect(urls["writer"]) as conn, conn.cursor() as cur, cur.copy(copy_in) as copy:
        for chunk in csv_chunks(trades):
            copy.write(chunk)
    _settle(urls)
    with psycopg.connect(urls["writer"]) as conn, conn.cursor() as cur:
        return _pending(cur, bench_date)


def _settle(urls: dict[str, str]) -> None:
    """The freshly loaded tables vacuumed and analysed, as autovacuum leaves them soon after a
    load: otherwise its own pass over the new million trades (set to start a few seconds after
    it) competes for the cores with whichever measurement happens to run first."""
    import psycopg

    with psycopg.connect(urls["owner"], autocommit=True) as conn:
        conn.execute(
            "VACUUM (ANALYZE) ops.trades, ops.settlement_outcomes, ops.counterparties, ops.instruments"
        )


def _pending(cur: Any, day: dt.date) -> int:
    cur.execute(
        "SELECT count(*) FROM ops.trades WHERE business_date <= %(d)s AND settle_date > %(d)s "
        "AND status <> 'cancelled'",
        {"d": day},
    )
    return int(cur.fetchone()[0])


def _copy_trades(urls: dict[str, str], day: dt.date, copies: int) -> int:
    """The date's bookings again under new ids (``<id>c<n>``): more volume, same distribution."""
    import psycopg

    with psycopg.connect(urls["owner"]) as conn, conn.cursor() as cur:
        for n in range(1, copies + 1):
            cur.execute(
                "INSERT INTO ops.trades SELECT trade_id || 'c' || %(n)s::text, business_date, trade_date, "
                "settle_date, desk, book, instrument_id, side, quantity, price, notional, currency, "
                "counterparty_id, settlement_location, ssi_status, booked_at, confirmed_at, allocated_at, "
                "status FROM ops.trades WHERE business_date = %(d)s AND trade_id NOT LIKE '%%c%%'",
                {"n": n, "d": day},
            )
        cur.execute("ANALYZE ops.trades")
        return _pending(cur, day)


# --------------------------------------------------------------------------- the model


def _environment(stack: dict[str, str], database_url: str, work: Path) -> Any:
    from settlement_model.contract import JobEnvironment

    work.mkdir(parents=True, exist_ok=True)
    return JobEnvironment(
        database_url=database_url,
        s3_bucket=stack["S3_BUCKET"],
        s3_endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_region=stack["AWS_DEFAULT_REGION"],
        mlflow_tracking_uri=stack["MLFLOW_TRACKING_URI"],
        model_name=MODEL_NAME,
        kafka_config=kafka_client_of(stack, "pipelines"),
        work_dir=work,
    )


def _train(stack: dict[str, str], urls: dict[str, str], training_date: dt.date, work: Path) -> dict[str, Any]:
    """The real jobs: snapshot, train, evaluate; then model vs Bayes-optimal ROC AUC."""
    import boto3
    from settlement_model import contract, evaluation, registry, train_job, training_set

    from include.markets_ops.training import model_quality

    env = _environment(stack, urls["reader"], work / "training")
    training_set.build(
        env, training_date, train_days=60, holdout_days=10, label_lag_days=7, airflow_run_id="bench"
    )
    version = str(train_job.train(env, training_date, train_job.Hyperparameters(), "bench")["model_version"])
    evaluated = evaluation.evaluate(env, training_date, registry.CHAMPION, None, 0.05)
    client = registry.client(env.mlflow_tracking_uri)
    client.set_registered_model_alias(MODEL_NAME, registry.CHAMPION, version)
    s3 = boto3.client("s3", endpoint_url=stack["S3_ENDPOINT_URL"])
    report = model_quality.report_for_version(
        client,
        s3,
        bucket=stack["S3_BUCKET"],
        upstream_database_url=urls["upstream"],
        model_name=MODEL_NAME,
        version=version,
        evaluation=evaluated,
        predictions_key=contract.predictions_key(training_date, version),
    )
    window = f"{evaluated['window']['start']}..{evaluated['window']['end']}, {evaluated['rows']:,} rows"
    return {
        "version": version,
        "model": report["ground_truth_model_roc_auc"],
        "bayes": report["ground_truth_bayes_roc_auc"],
        "window": window,
    }


def _train_challenger(bench: Bench, training_date: dt.date) -> str:
    """A second version, for the shadow run: trained by the real job on the model's snapshot with
    the same parameters but another seed (another validation split and ensemble of the same
    shape), so a registered version of its own, loaded and predicted like any challenger."""
    from settlement_model import train_job

    env = _environment(bench.stack, bench.urls["reader"], bench.work / "training")
    params = train_job.Hyperparameters(seed=train_job.Hyperparameters().seed + 1)
    return str(train_job.train(env, training_date, params, "bench-challenger")["model_version"])


# --------------------------------------------------------------------------- the three ways


def _plan(day: dt.date, version: str, run_id: str, shards: int = 1, shadow_version: str | None = None) -> Any:
    from include.markets_ops.scoring.plan import ScoringPlan, new_attempt

    return ScoringPlan(
        day,
        MODEL_NAME,
        version,
        shards,
        HIGH,
        MEDIUM,
        run_id,
        attempt=new_attempt(run_id),
        shadow_version=shadow_version,
    )


def _start_job(bench: Bench, plan: Any, shard: int = 0) -> subprocess.Popen:
    work = bench.work / f"shard-{shard}"
    arguments = plan.shard_arguments()[shard]
    return subprocess.Popen(
        [sys.executable, "-m", "settlement_model", "score", *arguments, "--topic", bench.topic],
        # One thread: as jobs/spec.py sets it for score (one core per shard).
        env=model_job_environment(
            bench.stack,
            database_url=bench.urls["writer"],
            work=work,
            model_name=MODEL_NAME,
            threads=1,
            kafka=True,
        ),
        stdout=(work / "stdout.log").open("wb"),  # the job's log: its time split is read back
        stderr=(work / "stderr.log").open("wb"),
    )


def _time_split(bench: Bench, shard: int) -> dict[str, Any]:
    """The job's own account of where its time went (its last ``time split:`` log line)."""
    log = (bench.work / f"shard-{shard}" / "stdout.log").read_text().splitlines()
    line = next(line for line in reversed(log) if "time split: " in line)
    return json.loads(line.split("time split: ", 1)[1])


def _print_split(split: dict[str, Any], label: str) -> None:
    phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in split["phases"].items())
    print(
        f"      {label}: {split['total']:.1f}s ({phases}); peak {split['peak_rss_mib']:,.0f} MiB", flush=True
    )


def _job(bench: Bench, day: dt.date, shards: int, shadow_version: str | None = None) -> list[dict[str, Any]]:
    """One scoring run as the DAG's tasks run it; the shards' time splits."""
    import boto3

    from include.markets_ops.scoring import manifest, swap

    plan = _plan(day, bench.version, f"bench__job__{uuid.uuid4().hex[:6]}", shards, shadow_version)
    s3 = boto3.client("s3", endpoint_url=bench.stack["S3_ENDPOINT_URL"])
    started = time.perf_counter()
    swap.prepare_partition(bench.urls["writer"], plan)  # the DAG's plan_shards does it (and the shadow's)
    prepared = time.perf_counter()
    for process in [_start_job(bench, plan, shard) for shard in range(shards)]:  # in parallel
        wait_with_peak_rss(process)
    shards_done = time.perf_counter()
    swapped = swap.swap_into_trade_scores(bench.urls["writer"], plan)
    swap_done = time.perf_counter()
    manifest.write_manifest(s3, bench.stack["S3_BUCKET"], plan, swapped)
    splits = [_time_split(bench, shard) for shard in range(shards)]
    for shard, split in enumerate(splits):
        _print_split(split, f"shard {shard}")
    print(
        f"      prepare {prepared - started:.2f}s, shards {shards_done - prepared:.1f}s, "
        f"swap {swap_done - shards_done:.2f}s, "
        f"manifest {time.perf_counter() - swap_done:.1f}s",
        flush=True,
    )
    if shadow_version:
        print(f"      {swapped['shadow_row_count']:,} shadow scores swapped in", flush=True)
    return splits


def _shadow_job(bench: Bench, day: dt.date, shards: int) -> tuple[float, dict[str, float]]:
    """The job with the challenger in shadow: its wall time, and the seconds the shards spent
    predicting with each version (summed over the shards)."""
    started = time.perf_counter()
    splits = _job(bench, day, shards, shadow_version=bench.challenger)
    seconds = time.perf_counter() - started
    phases = ("predict", "shadow predict")
    return seconds, {phase: sum(split["phases"].get(phase, 0.0) for split in splits) for phase in phases}


def _peak_memory(bench: Bench, day: dt.date) -> tuple[int, float]:
    from include.markets_ops.scoring import swap

    plan = _plan(day, bench.version, "bench__memory")
    swap.prepare_partition(bench.urls["writer"], plan)  # the shard writes into it (never swapped)
    started = time.perf_counter()
    peak = int(wait_with_peak_rss(_start_job(bench, plan)) * 2**20)  # bytes
    _print_split(_time_split(bench, 0), "one shard")
    return peak, time.perf_counter() - started


def _export_scores(urls: dict[str, str], day: dt.date) -> bytes:
    """The date's score rows in COPY's binary format (what the ceiling writes back in)."""
    import psycopg

    scores = io.BytesIO()
    with (
        psycopg.connect(urls["writer"]) as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY (SELECT * FROM ml.trade_scores WHERE business_date = %(d)s) TO STDOUT (FORMAT binary)",
            {"d": day},
        ) as copy,
    ):
        for chunk in copy:
            scores.write(chunk)
    return scores.getvalue()


def _ceiling(urls: dict[str, str], day: dt.date, scores: bytes) -> None:
    """Plain binary COPY of the pending trades out, and of as many score rows in."""
    import psycopg

    with psycopg.connect(urls["writer"]) as conn, conn.cursor() as cur:
        query = (
            "COPY (SELECT * FROM ops.trades WHERE business_date <= %(d)s AND settle_date > %(d)s "
            "AND status <> 'cancelled') TO STDOUT (FORMAT binary)"
        )
        with cur.copy(query, {"d": day}) as copy:
            for _ in copy:
                pass  # read and dropped: only the transfer counts
        cur.execute("DROP TABLE IF EXISTS staging.bench_ceiling")
        cur.execute("CREATE UNLOGGED TABLE staging.bench_ceiling (LIKE ml.trade_scores)")
        with cur.copy("COPY staging.bench_ceiling FROM STDIN (FORMAT binary)") as copy:
            copy.write(scores)
        cur.execute("DROP TABLE staging.bench_ceiling")


def _naive_in_its_own_process(bench: Bench, day: dt.date) -> None:
    """``_naive`` as a script of its own, started like the job (a fresh interpreter that pays
    for its own imports: pandas, scikit-learn, MLflow), not inside this process, where the
    training above has already imported them."""
    described = json.dumps(
        {
            "stack": bench.stack,
            "urls": bench.urls,
            "topic": bench.topic,
            "work": str(bench.work),
            "version": bench.version,
            "day": day.isoformat(),
        }
    )
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_scoring", "naive"],
        input=described.encode(),
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,  # MLflow's and pandas' chatter
    )


def _naive_main() -> None:
    """``python -m benchmarks.bench_scoring naive`` with the bench described as JSON on stdin."""
    described = json.loads(sys.stdin.read())
    bench = Bench(
        stack=described["stack"],
        urls=described["urls"],
        topic=described["topic"],
        work=Path(described["work"]),
        version=described["version"],
    )
    _naive(bench, dt.date.fromisoformat(described["day"]))


def _naive(bench: Bench, day: dt.date) -> None:
    """The same scoring, written the obvious way (what the job is measured against)."""
    stack, urls, topic, work, version = bench.stack, bench.urls, bench.topic, bench.work, bench.version
    import boto3
    import mlflow
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import sqlalchemy as sa
    from confluent_kafka import Producer
    from settlement_model import contract, features

    from include.markets_ops.scoring import swap

    engine = sa.create_engine(urls["writer"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        for name, value in features.feature_parameters([day]).items():
            conn.exec_driver_sql("SELECT set_config(%s, %s, false)", (name, value))
        trades = pd.read_sql(sa.text(features.pending_trades_sql()), conn)
        reference = features.Reference.read(lambda sql: pa.Table.from_pandas(pd.read_sql(sa.text(sql), conn)))
    # The same feature code as the job (only the I/O around it is naive).
    frame = features.feature_table(pa.Table.from_pandas(trades, preserve_index=False), reference).to_pandas()
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    mlflow.set_tracking_uri(stack["MLFLOW_TRACKING_URI"])
    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version}")
    frame["score"] = model.predict_proba(features.model_frame(frame))[:, 1]
    frame["risk_band"] = np.where(frame.score > HIGH, "high", np.where(frame.score > MEDIUM, "medium", "low"))
    plan = _plan(day, version, "bench__naive")
    out = pd.DataFrame({
        "business_date": day, "trade_id": frame.trade_id, "model_name": MODEL_NAME, "model_version": version,
        "score": frame.score, "risk_band": frame.risk_band, "scoring_run_id": plan.scoring_run_id,
        "scored_at": pd.Timestamp.now(tz="UTC"),
    })  # fmt: skip
    (table,) = swap.prepare_partition(urls["writer"], plan)
    out.to_sql(table, engine, schema="ml", index=False, if_exists="append")
    path = work / "naive.parquet"
    out.drop(columns=["scoring_run_id", "scored_at"]).to_parquet(path)
    boto3.client("s3", endpoint_url=stack["S3_ENDPOINT_URL"]).upload_file(
        str(path),
        stack["S3_BUCKET"],
        contract.part_key(day, plan.attempt, 0, 1),
        ExtraArgs={"Metadata": {"sha256": "naive", "rows": str(len(out))}},
    )
    producer = Producer({**kafka_client_of(stack, "scoring"), "enable.idempotence": True, "acks": "all"})
    for row in out[out.risk_band == "high"].itertuples():
        value = {
            "schema_version": 1,
            "trade_id": row.trade_id,
            "business_date": day.isoformat(),
            "model_version": version,
            "score": row.score,
        }
        producer.produce(topic, key=row.trade_id, value=json.dumps(value))
        producer.flush()
    swap.swap_into_trade_scores(urls["writer"], plan)


# --------------------------------------------------------------------------- Kafka


def _create_topic(stack: dict[str, str], topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    from devstack import kafka
    from include.markets_ops.services.topics import Topic

    admin = AdminClient(kafka_client_of(stack, "admin"))
    for future in admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)]).values():
        future.result(timeout=30)
    kafka.ensure_acls(
        admin, [Topic(topic, 6, "the benchmark's high-risk topic")], writers=(kafka.SCORING_USER,)
    )


def _delete_topic(stack: dict[str, str], topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    AdminClient(kafka_client_of(stack, "admin")).delete_topics([topic])


if __name__ == "__main__" and sys.argv[1:] == ["naive"]:
    _naive_main()
