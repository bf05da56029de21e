"""Scoring a business date on the real stack: the prepared next partition, the shard jobs that
write into it, the swap that attaches it, and the manifest.

A rerun gives identical rows, objects and message keys; a run that fails after its shards wrote
parts leaves the date's manifest and the parts it lists as they were, and the next successful
run replaces them and removes the failed run's parts; rerunning one shard replaces its slice;
a failure in the middle of a shard's write leaves the previous partition and none of its rows;
a swap refuses a next partition of another run, or an empty one while trades are pending; a
Kafka delivery failure fails the job (and the Airflow task) and commits none of its rows; a
missing champion or a model with another input schema is refused with a message that says
which; a dry run writes only its staging work table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from psycopg import sql
from settlement_model import contract, registry, score_job
from settlement_model.messaging import DeliveryError

from include.markets_ops.scoring.manifest import manifest_key, part_keys, without_run_identity
from include.markets_ops.scoring.swap import (
    SwapError,
    prepare_partition,
    swap_into_trade_scores,
)
from tests.integration.model.scoring_runs import (
    BUSINESS_DATE,
    HIGH,
    MEDIUM,
    SHARDS,
    Setup,
    date_partition,
    date_rows,
    objects,
    plan,
    run_ids,
    score_date,
    score_shards,
    staging,
)
from tests.support.model_stack import read_topic


def test_rescoring_a_date_gives_identical_rows_objects_and_message_keys(
    setup: Setup, fixture_data: Any
) -> None:
    stack, writer_env, s3, bucket = setup.stack, setup.env, setup.s3, setup.bucket
    champion, model_name, kafka_topic = setup.champion, setup.model_name, setup.topic
    first = score_date(writer_env, s3, bucket, plan(model_name, champion, "pytest__first"), kafka_topic)
    rows, stored = date_rows(stack["POSTGRES_URL"]), objects(s3, bucket)
    first_partition = date_partition(stack["POSTGRES_URL"])
    messages_after_first = read_topic(stack, kafka_topic)

    second = score_date(writer_env, s3, bucket, plan(model_name, champion, "pytest__second"), kafka_topic)
    messages = read_topic(stack, kafka_topic)

    # Every pending trade of the date is scored once, by the pinned version.
    pending = {t["trade_id"] for t in fixture_data.pending_on(BUSINESS_DATE)}
    assert {row[1] for row in rows} == pending
    assert len(rows) == len(pending) == first["swapped"]["row_count"]
    assert {row[3] for row in rows} == {champion}
    # The rerun replaced the date: same rows (now written by the second run), no duplicates.
    assert date_rows(stack["POSTGRES_URL"]) == rows
    assert run_ids(stack["POSTGRES_URL"]) == {"pytest__second"}
    # ... by attaching a new partition of the date in place of the first run's.
    second_partition = date_partition(stack["POSTGRES_URL"])
    assert first_partition is not None
    assert second_partition is not None
    assert first_partition[1] == second_partition[1] == f"FOR VALUES IN ('{BUSINESS_DATE}')"
    assert first_partition[0] != second_partition[0]
    # The same parts, byte for byte, in the second run's folder (the first run's are removed),
    # and the same manifest but for which run wrote it.
    after = objects(s3, bucket)
    assert sorted(stored) == sorted([manifest_key(BUSINESS_DATE), *part_keys(first["manifest"])])
    assert sorted(after) == sorted([manifest_key(BUSINESS_DATE), *part_keys(second["manifest"])])
    assert part_keys(second["manifest"]) == [
        contract.part_key(BUSINESS_DATE, second["manifest"]["attempt"], i, SHARDS) for i in range(SHARDS)
    ]
    assert [after[k] for k in part_keys(second["manifest"])] == [
        stored[k] for k in part_keys(first["manifest"])
    ]
    assert without_run_identity(json.loads(after[manifest_key(BUSINESS_DATE)])) == without_run_identity(
        json.loads(stored[manifest_key(BUSINESS_DATE)])
    )
    assert second["manifest"]["checksum"] == first["manifest"]["checksum"]
    assert second["manifest"]["row_count"] == len(rows)
    manifest = json.loads(objects(s3, bucket)[manifest_key(BUSINESS_DATE)])
    assert manifest["model_version"] == champion
    assert manifest["risk_bands"]["high"] == sum(1 for row in rows if row[5] == "high")
    # The same messages again: the same keys (high-risk trade ids) with the same values.
    high = sorted(row[1] for row in rows if row[5] == "high")
    assert high, "the fixture has high-risk trades"
    assert sorted(key for key, _ in messages_after_first) == high
    by_key: dict[str, list[bytes]] = {}
    for key, payload in messages:
        by_key.setdefault(key, []).append(payload)
    assert sorted(by_key) == high
    assert all(len(payloads) == 2 and payloads[0] == payloads[1] for payloads in by_key.values())
    value = json.loads(by_key[high[0]][0])
    assert (value["schema_version"], value["model_version"], value["business_date"]) == (
        1,
        champion,
        BUSINESS_DATE.isoformat(),
    )


def test_a_run_that_fails_after_writing_parts_leaves_the_dates_manifest_and_parts(
    setup: Setup, fixture_data: Any
) -> None:
    """S3 swaps like the warehouse: until a run's manifest replaces the date's, readers of the
    manifest get the previous run's; a failed run changes nothing they read, and the next
    successful run leaves only its own parts."""
    import pyarrow.parquet as pq

    s3, bucket, topic = setup.s3, setup.bucket, setup.topic
    score_date(setup.env, s3, bucket, plan(setup.model_name, setup.champion, "pytest__good"), topic)
    before = objects(s3, bucket)
    manifest_before = before[manifest_key(BUSINESS_DATE)]
    listed_before = part_keys(json.loads(manifest_before))
    rows_before = date_rows(setup.database_url)
    # Shard 1 has high-risk trades, so it has messages that a dead broker will not acknowledge.
    shard1_bands = pq.read_table(pa_buffer(before[listed_before[1]])).column("risk_band").to_pylist()
    assert "high" in shard1_bands

    # The next run: shard 0 succeeds; shard 1 uploads its part, then Kafka never acknowledges
    # its messages (20 s, far longer than the shard takes to produce them) and the job fails.
    failing = plan(setup.model_name, setup.champion, "pytest__fails")
    prepare_partition(setup.database_url, failing)
    score_shards(setup.env, failing, topic, only=0)
    dead_broker = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 20000, "socket.timeout.ms": 1000}
    with pytest.raises(DeliveryError, match="acknowledged"):
        score_shards(dataclasses.replace(setup.env, kafka_config=dead_broker), failing, topic, only=1)
    during = objects(s3, bucket)
    assert set(failing.part_keys()) <= set(during)  # both shards of the failed run wrote their parts
    # Readers of the manifest see the date as before: the same manifest, byte for byte, and every
    # part it lists, unchanged; the warehouse's readers too (the swap never ran).
    assert during[manifest_key(BUSINESS_DATE)] == manifest_before
    assert {key: during[key] for key in listed_before} == {key: before[key] for key in listed_before}
    assert date_rows(setup.database_url) == rows_before

    # The run cleared: plan_shards plans again under the same run id, with a new attempt.
    rerun = plan(setup.model_name, setup.champion, "pytest__fails")
    assert rerun.attempt != failing.attempt
    replaced = score_date(setup.env, s3, bucket, rerun, topic)["manifest"]
    after = objects(s3, bucket)
    # Only the new manifest and its parts remain: the good run's and the failed run's are removed.
    assert sorted(after) == sorted([manifest_key(BUSINESS_DATE), *part_keys(replaced)])
    assert replaced["removed_objects"] == 2 * SHARDS
    assert part_keys(replaced) == rerun.part_keys()
    # Idempotent: the same part bytes and the same manifest but for which run wrote it.
    assert [after[key] for key in part_keys(replaced)] == [before[key] for key in listed_before]
    manifest_after = json.loads(after[manifest_key(BUSINESS_DATE)])
    assert manifest_after["attempt"] == rerun.attempt
    assert without_run_identity(manifest_after) == without_run_identity(json.loads(manifest_before))
    assert date_rows(setup.database_url) == rows_before
    assert run_ids(setup.database_url) == {"pytest__fails"}


def pa_buffer(body: bytes) -> Any:
    import pyarrow as pa

    return pa.BufferReader(body)


def next_rows(database_url: str) -> list[tuple]:
    """(trade id, scoring run id) of the date's next partition, by trade id."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            sql.SQL("SELECT trade_id, scoring_run_id FROM {} ORDER BY trade_id").format(next_partition())
        ).fetchall()


def scored_at_by_trade(database_url: str) -> dict[str, dt.datetime]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(sql.SQL("SELECT trade_id, scored_at FROM {}").format(next_partition()))
        return dict(rows.fetchall())


def next_partition() -> sql.Identifier:
    return sql.Identifier("ml", contract.next_partition_name(BUSINESS_DATE))


def next_exists(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        (found,) = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"ml.{contract.next_partition_name(BUSINESS_DATE)}",)
        ).fetchone()
        return bool(found)


def test_rerunning_one_shard_replaces_its_slice_without_duplicates(setup: Setup, fixture_data: Any) -> None:
    writer_env, kafka_topic = setup.env, setup.topic
    run = plan(setup.model_name, setup.champion, "pytest__one_shard")
    pending = sorted(t["trade_id"] for t in fixture_data.pending_on(BUSINESS_DATE))
    prepare_partition(setup.database_url, run)
    first = score_shards(writer_env, run, kafka_topic)
    assert first[1].scores_table == f"ml.{contract.next_partition_name(BUSINESS_DATE)}"
    assert first[0].rows > 0
    assert first[1].rows > 0
    assert [trade for trade, _ in next_rows(setup.database_url)] == pending
    written_first = scored_at_by_trade(setup.database_url)

    (again,) = score_shards(writer_env, run, kafka_topic, only=1)
    assert again.rows == first[1].rows
    # Shard 1's rows were deleted and written again (scored later), shard 0's kept as they were.
    assert [trade for trade, _ in next_rows(setup.database_url)] == pending
    written_again = scored_at_by_trade(setup.database_url)
    rewritten = {trade for trade in pending if written_again[trade] > written_first[trade]}
    assert len(rewritten) == again.rows
    assert all(written_again[trade] == written_first[trade] for trade in set(pending) - rewritten)
    swapped = swap_into_trade_scores(setup.database_url, run)
    assert swapped["row_count"] == len(pending)
    assert [row[1] for row in date_rows(setup.database_url)] == pending
    # Attached with its statistics (migration 0011): the planner sees its rows from the first
    # query on, not a default guess of a few (which made the shadow comparison take 35-48 s).
    attached = contract.next_partition_name(BUSINESS_DATE).removesuffix("_next")
    assert _analyzed_columns(setup.database_url, attached) >= {
        "business_date",
        "trade_id",
    }

    # After the swap the next partition is gone: a shard alone cannot write the date any more.
    assert not next_exists(setup.database_url)
    with pytest.raises(contract.RefusedError, match=r"trade_scores_p20230410_next does not exist.*whole run"):
        score_shards(writer_env, run, kafka_topic, only=0)
    assert [row[1] for row in date_rows(setup.database_url)] == pending


def test_a_failure_in_the_middle_of_a_shards_write_leaves_the_previous_partition(
    setup: Setup, fixture_data: Any
) -> None:
    from settlement_model import warehouse

    stack, writer_env, s3, bucket = setup.stack, setup.env, setup.s3, setup.bucket
    champion, model_name, kafka_topic = setup.champion, setup.model_name, setup.topic
    score_date(writer_env, s3, bucket, plan(model_name, champion, "pytest__before"), kafka_topic)
    before = date_rows(stack["POSTGRES_URL"])
    partition_before = date_partition(stack["POSTGRES_URL"])

    broken = plan(model_name, champion, "pytest__broken")
    prepare_partition(setup.database_url, broken)
    (shard0,) = score_shards(writer_env, broken, kafka_topic, only=0)
    real_ingest = warehouse.ingest

    def ingest_then_fail(*args: Any, **kwargs: Any) -> int:
        real_ingest(*args, **kwargs)  # the rows are in the next partition (uncommitted)
        raise ConnectionError("injected: the connection broke after a COPY")

    with (
        mock.patch.object(warehouse, "ingest", side_effect=ingest_then_fail),
        pytest.raises(ConnectionError, match="injected"),
    ):
        score_shards(writer_env, broken, kafka_topic, only=1)
    # Readers still see the previous partition, untouched; shard 1's rows were never committed.
    assert date_rows(stack["POSTGRES_URL"]) == before
    assert run_ids(stack["POSTGRES_URL"]) == {"pytest__before"}
    assert date_partition(stack["POSTGRES_URL"]) == partition_before
    assert len(next_rows(stack["POSTGRES_URL"])) == shard0.rows

    # The shard's retry completes the next partition, which the swap then attaches.
    score_shards(writer_env, broken, kafka_topic, only=1)
    swapped = swap_into_trade_scores(stack["POSTGRES_URL"], broken)
    assert swapped["row_count"] == len(before)
    assert date_rows(stack["POSTGRES_URL"]) == before  # the same scores, now by the second run
    assert run_ids(stack["POSTGRES_URL"]) == {"pytest__broken"}


def test_the_swap_refuses_a_next_partition_of_another_run_or_an_empty_one(setup: Setup) -> None:
    stack, writer_env, kafka_topic = setup.stack, setup.env, setup.topic
    current = plan(setup.model_name, setup.champion, "pytest__current")
    prepare_partition(setup.database_url, current)
    score_shards(writer_env, current, kafka_topic)
    before = date_rows(stack["POSTGRES_URL"])
    partition_before = date_partition(stack["POSTGRES_URL"])

    # Another run's swap (its plan did not prepare this next partition): stale rows, refused.
    other = plan(setup.model_name, setup.champion, "pytest__other")
    with pytest.raises(SwapError, match=r"scoring runs \['pytest__current'\], expected pytest__other"):
        swap_into_trade_scores(setup.database_url, other)
    assert date_partition(stack["POSTGRES_URL"]) == partition_before  # the attach was rolled back
    assert date_rows(stack["POSTGRES_URL"]) == before
    assert len(next_rows(setup.database_url)) > 0  # still there for the run that filled it

    # Prepared, but no shard wrote: empty while trades are pending.
    prepare_partition(setup.database_url, other)
    with pytest.raises(SwapError, match="no scores at all, but trades are pending"):
        swap_into_trade_scores(setup.database_url, other)
    assert date_partition(stack["POSTGRES_URL"]) == partition_before

    # Never prepared (or already swapped): missing.
    with psycopg.connect(setup.database_url) as conn:
        conn.execute(
            sql.SQL("SELECT ml.attach_scores_partition('trade_scores', %s)"), (BUSINESS_DATE,)
        ).fetchone()
    partition_now = date_partition(stack["POSTGRES_URL"])  # the empty one is attached
    with pytest.raises(SwapError, match=r"ml\.trade_scores_p20230410_next is missing"):
        swap_into_trade_scores(setup.database_url, other)
    assert date_partition(stack["POSTGRES_URL"]) == partition_now

    # An empty date with no pending trade at all is a legitimate day.
    quiet = dataclasses.replace(other, business_date=dt.date(2001, 1, 2))
    prepare_partition(setup.database_url, quiet)
    assert swap_into_trade_scores(setup.database_url, quiet)["row_count"] == 0


def test_a_kafka_delivery_failure_fails_the_job_and_commits_nothing(setup: Setup) -> None:
    stack, writer_env, champion, kafka_topic = setup.stack, setup.env, setup.champion, setup.topic
    dead_broker = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 3000, "socket.timeout.ms": 1000}
    env = dataclasses.replace(writer_env, kafka_config=dead_broker)
    prepare_partition(stack["POSTGRES_URL"], plan(setup.model_name, champion, "pytest__kafka"))
    request = score_job.ScoreRequest(
        BUSINESS_DATE, 0, 1, "pytest__kafka", HIGH, MEDIUM, None, champion, topic=kafka_topic
    )
    with pytest.raises(DeliveryError, match="acknowledged"):
        score_job.score_shard(env, request)
    assert next_rows(stack["POSTGRES_URL"]) == []


def test_the_job_exits_non_zero_on_a_delivery_failure_and_the_task_fails(
    setup: Setup, tmp_path: Path
) -> None:
    stack, champion, model_name, kafka_topic = setup.stack, setup.champion, setup.model_name, setup.topic
    from airflow.sdk.exceptions import AirflowException

    from include.markets_ops.airflow.retries import Cause, cause_of
    from include.markets_ops.jobs.local_runtime import LocalJobOperator

    prepare_partition(stack["POSTGRES_URL"], plan(model_name, champion, "pytest__kafka-task"))
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(score_job.__file__).parents[1]),
        "WORK_DIR": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "HOME": str(tmp_path),
        "DATABASE_URL": stack["POSTGRES_URL"],
        "S3_BUCKET": stack["S3_BUCKET"],
        "S3_ENDPOINT_URL": stack["S3_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": stack["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": stack["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": stack["AWS_DEFAULT_REGION"],
        "MLFLOW_TRACKING_URI": stack["MLFLOW_TRACKING_URI"],
        "MLFLOW_TRACKING_USERNAME": stack["MLFLOW_TRACKING_USERNAME"],
        "MLFLOW_TRACKING_PASSWORD": stack["MLFLOW_TRACKING_PASSWORD"],
        "MLFLOW_MODEL_NAME": model_name,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "KAFKA_CONFIG_JSON": '{"message.timeout.ms": 3000}',
        "NO_PROXY": "*",
    }
    arguments = [
        "--business-date", BUSINESS_DATE.isoformat(), "--run-id", "pytest__kafka-task",
        "--model-version", champion,
        "--high-risk-threshold", str(HIGH), "--medium-risk-threshold", str(MEDIUM), "--topic", kafka_topic,
    ]  # fmt: skip
    completed = subprocess.run(
        [sys.executable, "-m", "settlement_model", "score", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == contract.EXIT_FAILED
    assert "Kafka delivery to" in completed.stderr

    # The same job through the embedded runtime's operator: the task fails (and will retry).
    operator = LocalJobOperator(task_id="score_shard", job="score", arguments=arguments)
    with (
        mock.patch("include.markets_ops.jobs.local_runtime.contract_environment", return_value=env),
        pytest.raises(AirflowException, match="exited with code 1") as failure,
    ):
        operator.execute({})
    assert cause_of(failure.value) is not Cause.BAD_INPUT


def test_scoring_is_refused_without_a_champion(writer_env: Any, fixture_data: Any) -> None:
    env = dataclasses.replace(writer_env, model_name=f"{writer_env.model_name}_never_trained")
    request = score_job.ScoreRequest(BUSINESS_DATE, 0, 1, "pytest__none", HIGH, MEDIUM)
    # With MLflow's authentication, a model that does not exist is refused as a 403.
    refused = r"(has no alias 'champion'|refuses the job's user access to model).*settlement_risk_training"
    with pytest.raises(contract.RefusedError, match=refused):
        score_job.score_shard(env, request)


@pytest.mark.usefixtures("champion")
def test_scoring_is_refused_when_the_models_inputs_differ_from_the_features(
    writer_env: Any, mlflow_client: Any, model_name: str
) -> None:
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"log_notional": [1.0, 2.0, 3.0, 4.0], "legacy_score": [0.1, 0.9, 0.2, 0.8]})
    legacy = LogisticRegression().fit(frame, [0, 1, 0, 1])
    mlflow.set_tracking_uri(writer_env.mlflow_tracking_uri)
    with mlflow.start_run(
        experiment_id=mlflow_client.get_experiment_by_name(registry.EXPERIMENT_NAME).experiment_id
    ):
        info = mlflow.sklearn.log_model(
            legacy,
            name="model",
            signature=infer_signature(frame, legacy.predict_proba(frame)),
            registered_model_name=model_name,
            serialization_format="skops",
            pip_requirements=["scikit-learn"],
        )
    request = score_job.ScoreRequest(
        BUSINESS_DATE, 0, 1, "pytest__schema", HIGH, MEDIUM, None, str(info.registered_model_version)
    )
    with pytest.raises(contract.RefusedError) as refused:
        score_job.score_shard(writer_env, request)
    message = str(refused.value)
    assert f"version {info.registered_model_version} does not match the features" in message
    assert "model inputs this job does not compute: legacy_score" in message
    assert "features the model does not take: asset_class" in message


def test_a_dry_run_writes_its_work_table_and_nothing_else(setup: Setup, fixture_data: Any) -> None:
    day = dt.date(2023, 4, 6)  # a date no other test here scores
    prefix = contract.scores_prefix(day)
    messages_before = read_topic(setup.stack, setup.topic)
    request = score_job.ScoreRequest(
        day, 0, 1, "pytest__dry", HIGH, MEDIUM, None, setup.champion, dry_run=True, topic=setup.topic
    )
    result = score_job.score_shard(setup.env, request)
    assert result.rows == len(fixture_data.pending_on(day)) > 0
    assert result.object_uri is None
    table = contract.staging_table_name(day, 0, 1)
    with psycopg.connect(setup.database_url) as conn:
        assert (
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(staging(table))).fetchone()[0]
            == result.rows
        )
        conn.execute(sql.SQL("DROP TABLE {}").format(staging(table)))
        assert (
            conn.execute("SELECT count(*) FROM ml.trade_scores WHERE business_date = %s", (day,)).fetchone()[
                0
            ]
            == 0
        )
        # No next partition for the date either: a dry run never writes ml.
        next_table = f"ml.{contract.next_partition_name(day)}"
        assert conn.execute("SELECT to_regclass(%s)", (next_table,)).fetchone()[0] is None
    assert result.scores_table == f"staging.{table}"
    assert "Contents" not in setup.s3.list_objects_v2(Bucket=setup.bucket, Prefix=prefix)
    assert read_topic(setup.stack, setup.topic) == messages_before


def _dry_run_scores(setup: Setup, day: dt.date, run_id: str) -> list[tuple]:
    """(trade id, score, risk band) of a dry run's work table, which is then dropped."""
    request = score_job.ScoreRequest(
        day, 0, 1, run_id, HIGH, MEDIUM, None, setup.champion, dry_run=True, topic=setup.topic
    )
    score_job.score_shard(setup.env, request)
    table = contract.staging_table_name(day, 0, 1)
    with psycopg.connect(setup.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT trade_id, score, risk_band FROM {} ORDER BY trade_id").format(staging(table))
        ).fetchall()
        conn.execute(sql.SQL("DROP TABLE {}").format(staging(table)))
    return rows


def test_the_job_scores_with_the_trees_saved_with_the_model_exactly_as_with_the_pipeline(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    from settlement_model.registry_http import Registry

    # The training job saved the compiled trees in the version's model directory.
    http = Registry(setup.env.mlflow_tracking_uri)
    version = registry.pinned(setup.model_name, setup.champion, None)
    saved = registry.model_description(http, version)["flavors"]["sklearn"]["extra_files"]
    assert saved == [{"path": "extra_files/compiled_trees.json"}]

    day = dt.date(2023, 4, 6)
    with caplog.at_level("INFO", logger="settlement_model.score_job"):
        with_saved_trees = _dry_run_scores(setup, day, "pytest__saved_trees")
    assert f"predicting with the compiled trees saved with version {setup.champion}" in caplog.text
    # A version saved without them (trained before they were) is loaded through MLflow.
    caplog.clear()
    with (
        mock.patch.object(registry, "load_compiled", return_value=None),
        caplog.at_level("INFO", logger="settlement_model.score_job"),
    ):
        with_pipeline = _dry_run_scores(setup, day, "pytest__pipeline")
    assert "predicting with the trees compiled from the pipeline" in caplog.text
    assert len(with_saved_trees) > 100
    assert with_saved_trees == with_pipeline


def _analyzed_columns(database_url: str, table: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT attname FROM pg_stats WHERE schemaname = 'ml' AND tablename = %s", (table,)
        ).fetchall()
    return {name for (name,) in rows}
