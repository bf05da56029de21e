"""The scoring job's pieces that need no service: bands, names, Parquet bytes, messages, Kafka failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from settlement_model import contract, registry, score_job
from settlement_model.messaging import DeliveryError, ReliablePublisher

REQUEST = score_job.ScoreRequest(
    business_date=dt.date(2026, 11, 20),
    shard_index=1,
    shard_count=4,
    scoring_run_id="manual__2026-11-20",
    high_risk_threshold=0.3,
    medium_risk_threshold=0.1,
)
MODEL = registry.pinned("settlement_fail_risk", "7", "run1")


def batch(n: int, offset: int = 0) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "trade_id": pa.array([f"T{offset + i:06d}" for i in range(n)]),
            "counterparty_id": pa.array(["CP1"] * n),
            "instrument_id": pa.array(["US0000000001"] * n),
            "settle_date": pa.array([dt.date(2026, 11, 23)] * n, pa.date32()),
        }
    )


def test_risk_bands_are_strictly_above_their_thresholds() -> None:
    bands = score_job.risk_bands(np.array([0.05, 0.1, 0.1001, 0.3, 0.31]), medium=0.1, high=0.3)
    assert bands.type == pa.string()
    assert bands.to_pylist() == ["low", "low", "medium", "medium", "high"]
    # Equal thresholds: no medium band.
    assert score_job.risk_bands(np.array([0.2, 0.2001]), medium=0.2, high=0.2).to_pylist() == ["low", "high"]


def test_names_are_deterministic_per_date_and_shard() -> None:
    assert contract.staging_table_name(dt.date(2026, 11, 20), 1, 4) == "trade_scores_20261120_s001_of_004"
    assert contract.next_partition_name(dt.date(2026, 11, 20)) == "trade_scores_p20261120_next"
    assert (
        contract.part_key(dt.date(2026, 11, 20), "manual__2026-11-20-0a1b", 1, 4)
        == "scores/business_date=2026-11-20/run=manual__2026-11-20-0a1b/part-00001-of-00004.parquet"
    )
    # Without an attempt, a job's part goes to its run id's folder.
    assert REQUEST.attempt == "manual__2026-11-20"


NAMING_FUNCTIONS = Path(__file__).parents[3] / "include/sql/migrations/0009_scores_partition_functions.sql"


@pytest.mark.parametrize("table", [contract.TRADE_SCORES, contract.SHADOW_SCORES])
@pytest.mark.parametrize("day", [dt.date(2026, 11, 20), dt.date(2031, 1, 2), dt.date(1999, 12, 31)])
def test_the_next_partition_is_named_as_the_warehouse_function_names_it(day: dt.date, table: str) -> None:
    """ml.prepare_scores_partition names it format('%s_p%s_next', scores_table, to_char(d,
    'YYYYMMDD')): the same text here, evaluated the way PostgreSQL would."""
    functions = NAMING_FUNCTIONS.read_text()
    declared = re.search(
        r"next_table text := format\('([a-z_%]+)', scores_table, to_char\(business_date, '([A-Z]+)'\)\);",
        functions,
    )
    assert declared is not None, "the function's naming line changed: update next_partition_name too"
    template, picture = declared.groups()
    assert picture == "YYYYMMDD"
    expected = template.replace("%s", table, 1).replace("%s", day.strftime("%Y%m%d"), 1)
    assert contract.next_partition_name(day, table) == expected


def test_only_the_two_scores_tables_have_next_partitions() -> None:
    with pytest.raises(ValueError, match="is not trade_scores or shadow_scores"):
        contract.next_partition_name(dt.date(2026, 11, 20), "model_promotions")


@pytest.mark.parametrize(("high", "medium"), [(0.1, 0.3), (1.2, 0.1), (0.3, -0.1)])
def test_thresholds_must_be_ordered_probabilities(high: float, medium: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        score_job.ScoreRequest(dt.date(2026, 11, 20), 0, 1, "r", high, medium)


def test_scored_rows_carry_no_run_id_or_clock() -> None:
    rows = score_job.scored_rows(batch(3), np.array([0.5, 0.2, 0.01]), REQUEST, MODEL)
    assert rows.schema == score_job.parquet_schema()
    assert rows.column("risk_band").to_pylist() == ["high", "medium", "low"]
    assert set(rows.column("model_version").to_pylist()) == {"7"}
    staged = score_job.staging_rows(rows, "run-a", dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC))
    assert staged.column_names == [
        "business_date",
        "trade_id",
        "model_name",
        "model_version",
        "score",
        "risk_band",
        "scoring_run_id",
        "scored_at",
    ]


def test_high_risk_messages_are_keyed_by_trade_with_a_schema_version() -> None:
    rows = score_job.scored_rows(batch(3), np.array([0.5, 0.2, 0.9]), REQUEST, MODEL)
    messages = score_job.high_risk_messages(rows, REQUEST)
    assert [key for key, _ in messages] == ["T000000", "T000002"]
    first = messages[0][1]
    assert first["schema_version"] == score_job.MESSAGE_SCHEMA_VERSION
    assert first["model_version"] == "7"
    assert first["business_date"] == "2026-11-20"
    json.dumps(first)  # serialisable as is


def test_the_same_rows_give_the_same_parquet_bytes_whatever_the_batch_sizes(tmp_path: Path) -> None:
    scores = np.linspace(0, 1, 2500)
    rows = score_job.scored_rows(batch(2500), scores, REQUEST, MODEL)
    digests = []
    for sizes in ([2500], [700, 700, 1100], [1, 999, 1000, 500]):
        path = tmp_path / f"{len(sizes)}.parquet"
        writer = score_job.RowGroupWriter(path, score_job.parquet_schema(), row_group_rows=1000)
        start = 0
        for size in sizes:
            writer.write(rows.slice(start, size))
            start += size
        assert writer.close() == 2500
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(set(digests)) == 1


def test_the_part_keeps_dictionaries_for_the_columns_with_few_values_only(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = score_job.scored_rows(batch(2500), np.linspace(0, 1, 2500), REQUEST, MODEL)
    path = tmp_path / "part.parquet"
    writer = score_job.RowGroupWriter(
        path, score_job.parquet_schema(), dictionary_columns=score_job.PARQUET_DICTIONARY_COLUMNS
    )
    writer.write(rows)
    writer.close()
    group = pq.ParquetFile(path).metadata.row_group(0)
    columns = [group.column(index) for index in range(group.num_columns)]
    dictionary = {column.path_in_schema for column in columns if column.has_dictionary_page}
    assert dictionary == set(score_job.PARQUET_DICTIONARY_COLUMNS)
    assert {"trade_id", "score"}.isdisjoint(dictionary)  # a value per row: no dictionary
    assert pq.read_table(path).equals(rows)


def test_an_empty_shard_still_writes_a_valid_part(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "empty.parquet"
    writer = score_job.RowGroupWriter(path, score_job.parquet_schema())
    assert writer.close() == 0
    assert pq.read_table(path).num_rows == 0


def test_an_unreachable_broker_is_a_delivery_error_not_a_silent_loss() -> None:
    publisher = ReliablePublisher(
        {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1500, "socket.timeout.ms": 1000},
        "settlement-risk.high",
        flush_timeout_seconds=10,
    )
    publisher.send("T1", {"score": 0.9})
    with pytest.raises(DeliveryError, match=r"0 of 1 acknowledged"):
        publisher.close()


def test_encoded_messages_are_byte_for_byte_the_encoded_values() -> None:
    from settlement_model.messaging import encode

    rows = score_job.scored_rows(
        batch(6), np.array([0.5, 0.2, 0.9, 1.0, 0.30000000000000004, 1e-300]), REQUEST, MODEL
    )
    odd = ['CP "quoted" \\ back', "CP ünïcode ✓", "CP\nnewline", "", "CP4", "CP5"]
    rows = rows.set_column(rows.column_names.index("counterparty_id"), "counterparty_id", pa.array(odd))
    fast = score_job.encoded_high_risk_messages(rows, REQUEST)
    reference = [(key, encode(value)) for key, value in score_job.high_risk_messages(rows, REQUEST)]
    assert len(fast) == 4
    assert fast == reference


def test_no_high_risk_rows_no_messages() -> None:
    rows = score_job.scored_rows(batch(2), np.array([0.01, 0.02]), REQUEST, MODEL)
    assert score_job.encoded_high_risk_messages(rows, REQUEST) == []


SHADOW = registry.pinned("settlement_fail_risk", "8", "run2")


def test_a_dry_run_scores_no_shadow() -> None:
    with pytest.raises(ValueError, match="a dry run scores no shadow"):
        dataclasses.replace(REQUEST, dry_run=True, shadow_version="8")


def test_shadow_rows_are_the_challengers_scores_of_the_same_trades() -> None:
    scored = score_job.scored_rows(batch(3), np.array([0.5, 0.2, 0.01]), REQUEST, MODEL)
    at = dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC)
    shadow = score_job.shadow_rows(scored, np.array([0.4, 0.3, 0.02]), SHADOW, "run-a", at)
    assert shadow.column_names == [
        "business_date", "trade_id", "model_name", "model_version", "score", "scoring_run_id", "scored_at"
    ]  # fmt: skip
    assert shadow.column("trade_id").to_pylist() == scored.column("trade_id").to_pylist()
    assert shadow.column("score").to_pylist() == [0.4, 0.3, 0.02]
    assert set(shadow.column("model_version").to_pylist()) == {"8"}


class _FixedModel:
    """A predictor that scores every trade with one value (and counts its calls)."""

    def __init__(self, model: registry.ResolvedModel, value: float) -> None:
        self.model, self.value, self.calls = model, value, 0

    def predict(self, features_batch: pa.Table) -> np.ndarray:
        self.calls += 1
        return np.full(features_batch.num_rows, self.value)


def test_a_shard_in_shadow_builds_the_features_once_and_keeps_the_challenger_out_of_the_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    def feature_table(pending: pa.RecordBatch, reference: object) -> pa.RecordBatch:
        built.append(pending.num_rows)
        return pending

    monkeypatch.setattr(score_job.features, "feature_table", feature_table)
    ingested: list[tuple[str, pa.Table]] = []
    monkeypatch.setattr(
        score_job.warehouse, "ingest", lambda conn, table, data, schema: ingested.append((table, data))
    )
    champion, challenger = _FixedModel(MODEL, 0.5), _FixedModel(SHADOW, 0.05)
    request = dataclasses.replace(REQUEST, shadow_version="8")
    shard = score_job._Shard(
        request=request,
        champion=champion,  # type: ignore[arg-type]
        shadow=challenger,  # type: ignore[arg-type]
        reference=None,  # type: ignore[arg-type]
        scored_at=dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC),
        writer=None,
        schema="ml",
        table="trade_scores_p20261120_next",
        shadow_table="shadow_scores_p20261120_next",
        parquet=score_job.RowGroupWriter(tmp_path / "part.parquet", score_job.parquet_schema()),
        publisher=None,
    )
    submitted: list[tuple[pa.Table, pa.Table | None]] = []
    shard.score(batch(4), (submitted.append,))
    (rows,) = submitted
    shard.copy_scores(rows)
    shard.write_outputs(rows)

    assert built == [4]  # the features once, for both models
    assert (champion.calls, challenger.calls) == (1, 1)
    assert [table for table, _ in ingested] == ["trade_scores_p20261120_next", "shadow_scores_p20261120_next"]
    assert set(ingested[1][1].column("score").to_pylist()) == {0.05}
    assert (shard.written, shard.shadow_written, shard.high) == (4, 4, 4)  # every trade high at 0.5
    assert shard.parquet.close() == 4
    import pyarrow.parquet as pq

    assert set(pq.read_table(tmp_path / "part.parquet").column("model_version").to_pylist()) == {"7"}


def test_a_challenger_that_cannot_be_scored_says_so_and_how_to_score_the_champion_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from settlement_model.contract import RefusedError

    def refused(env: object, alias: object, version: object) -> None:
        raise RefusedError("the input schema of settlement_fail_risk version 8 does not match the features")

    monkeypatch.setattr(score_job, "_checked_model", refused)
    with pytest.raises(RefusedError) as error:
        score_job._shadow_model(None, dataclasses.replace(REQUEST, shadow_version="8"))  # type: ignore[arg-type]
    assert str(error.value).startswith(
        "the challenger (version 8) cannot be scored in shadow: the input schema"
    )
    assert str(error.value).endswith("rerun with the shadow param off to score the champion alone")
    assert score_job._shadow_model(None, REQUEST) is None  # type: ignore[arg-type]
