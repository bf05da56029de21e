import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from settlement_model.sampling import HASH_COLUMN, WEIGHT_COLUMN, SettledRowsSampler, unit_keys, was_sampled


def window(rows: int, fail_rate: float, seed: int = 0) -> pa.Table:
    """A labelled window as training_set.sql streams it: trade, as-of date, a feature, the
    label (fails more likely for a larger feature) and the row's 64-bit hash."""
    rng = np.random.default_rng(seed)
    feature = rng.normal(size=rows)
    failed = rng.random(rows) < fail_rate * np.exp(feature - 0.5)
    as_of = [dt.date(2026, 11, 2) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20, rows)]
    return pa.table({
        "as_of_date": pa.array(as_of),
        "trade_id": pa.array([f"T{i:08d}" for i in range(rows)]),
        "feature": feature,
        "failed": failed,
        HASH_COLUMN: rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, rows, dtype=np.int64),
    })  # fmt: skip


def sample(table: pa.Table, max_settled_rows: int, batch_rows: int) -> tuple[pa.Table, object]:
    sampler = SettledRowsSampler(max_settled_rows, "failed")
    for batch in table.to_batches(max_chunksize=batch_rows):
        sampler.add(batch)
    kept, sampling = sampler.result()
    assert kept is not None
    return kept, sampling


def test_keys_are_uniform_in_the_unit_interval_and_keep_the_hashes_order() -> None:
    hashes = np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max], dtype=np.int64)
    keys = unit_keys(hashes)
    assert keys[0] == 0.0
    assert list(np.argsort(keys)) == [0, 1, 2, 3]
    assert keys.max() < 1.0


def test_a_window_with_few_settled_rows_is_kept_whole_with_weights_of_one() -> None:
    table = window(5_000, 0.05)
    kept, sampling = sample(table, max_settled_rows=10_000, batch_rows=700)
    assert kept.num_rows == table.num_rows
    assert not sampling.sampled
    assert set(kept.column(WEIGHT_COLUMN).to_pylist()) == {1.0}
    assert HASH_COLUMN not in kept.schema.names
    order = kept.select(["as_of_date", "trade_id"]).to_pylist()
    assert order == sorted(order, key=lambda row: (row["as_of_date"], row["trade_id"]))


def test_every_failure_is_kept_and_the_settled_rows_with_the_k_smallest_keys() -> None:
    table = window(60_000, 0.05)
    kept, sampling = sample(table, max_settled_rows=4_000, batch_rows=1_000)

    failed = np.asarray(table.column("failed"))
    keys = unit_keys(table.column(HASH_COLUMN).to_numpy())
    expected = set(np.asarray(table.column("trade_id"))[failed]) | set(
        np.asarray(table.column("trade_id"))[~failed][np.argsort(keys[~failed])[:4_000]]
    )
    assert set(kept.column("trade_id").to_pylist()) == expected
    assert sampling.failed_rows == failed.sum()
    assert (sampling.settled_rows_seen, sampling.settled_rows_kept) == ((~failed).sum(), 4_000)
    tau = np.sort(keys[~failed])[4_000]  # the (k + 1)-th smallest settled key
    assert sampling.settled_weight == pytest.approx(1 / tau)
    weights = np.asarray(kept.column(WEIGHT_COLUMN))
    kept_failed = np.asarray(kept.column("failed"))
    assert set(weights[kept_failed]) == {1.0}
    assert set(weights[~kept_failed]) == {sampling.settled_weight}


def test_the_sample_does_not_depend_on_how_the_rows_were_batched() -> None:
    table = window(30_000, 0.05)
    first, first_sampling = sample(table, max_settled_rows=2_000, batch_rows=333)
    second, second_sampling = sample(table, max_settled_rows=2_000, batch_rows=30_000)
    assert first.equals(second)
    assert first_sampling == second_sampling


def test_weighted_sums_estimate_the_whole_windows() -> None:
    table = window(200_000, 0.03, seed=3)
    kept, _ = sample(table, max_settled_rows=10_000, batch_rows=5_000)
    weights = np.asarray(kept.column(WEIGHT_COLUMN))
    assert weights.sum() == pytest.approx(table.num_rows, rel=0.02)
    full_fail_rate = np.asarray(table.column("failed")).mean()
    assert np.average(np.asarray(kept.column("failed")), weights=weights) == pytest.approx(
        full_fail_rate, rel=0.02
    )
    full_mean = np.asarray(table.column("feature")).mean()
    weighted_mean = np.average(np.asarray(kept.column("feature")), weights=weights)
    assert weighted_mean == pytest.approx(full_mean, abs=0.02)
    # Unweighted, the sample overstates the fail rate many times over: the weights matter.
    assert np.asarray(kept.column("failed")).mean() > 5 * full_fail_rate


def test_a_window_without_failures_keeps_its_settled_sample_and_says_so() -> None:
    sampler = SettledRowsSampler(100, "failed")
    assert sampler.result()[0] is None  # no batch at all
    sampler.add(window(1_000, 0.0))
    kept, sampling = sampler.result()
    assert kept is not None
    assert (kept.num_rows, sampling.failed_rows, sampling.settled_rows_kept) == (100, 0, 100)


def test_a_budget_below_one_row_is_refused() -> None:
    with pytest.raises(ValueError, match="max_settled_rows must be at least 1"):
        SettledRowsSampler(0, "failed")


def test_only_a_window_that_left_rows_out_was_sampled() -> None:
    assert not was_sampled(None)  # a snapshot from before sampling
    assert not was_sampled({"settled_rows_kept": 500, "settled_rows_seen": 500})
    assert was_sampled({"settled_rows_kept": 100, "settled_rows_seen": 500})
