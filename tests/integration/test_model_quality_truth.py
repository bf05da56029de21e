"""The ground-truth report's read of the truth on the real warehouse (the upstream simulator's
role): streamed in blocks, every row of the booking dates asked for, nothing else."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from include.markets_ops.training import model_quality
from tests.integration.conftest import SCRATCH_CONFIG, Warehouse

pytestmark = pytest.mark.integration


def test_the_truth_of_a_range_of_booking_dates_is_read_in_blocks(seeded_scratch_warehouse: Warehouse) -> None:
    first, last = SCRATCH_CONFIG.epoch + dt.timedelta(days=3), SCRATCH_CONFIG.epoch + dt.timedelta(days=10)

    batches = list(
        model_quality.read_truth(seeded_scratch_warehouse.upstream, first, last, block_bytes=2**16)
    )

    with seeded_scratch_warehouse.connect("upstream") as upstream:
        expected = upstream.execute(
            "SELECT trade_id, p_fail, failed FROM synthetic.trade_fail_probability "
            "WHERE business_date BETWEEN %s AND %s ORDER BY trade_id",
            (first, last),
        ).fetchall()
    assert len(expected) > 10_000
    assert len(batches) > 1  # parsed block by block
    table = pa.Table.from_batches(batches).sort_by("trade_id")
    assert list(zip(*(table.column(name).to_pylist() for name in table.schema.names), strict=True)) == [
        (trade_id, float(p_fail), failed) for trade_id, p_fail, failed in expected
    ]


def test_a_model_scoring_with_the_true_probabilities_reaches_the_bayes_auc(
    seeded_scratch_warehouse: Warehouse,
) -> None:
    day = SCRATCH_CONFIG.epoch + dt.timedelta(days=7)
    truth = pa.Table.from_batches(list(model_quality.read_truth(seeded_scratch_warehouse.upstream, day, day)))
    predictions = pa.table(
        {
            "trade_id": pa.concat_arrays(
                [truth.column("trade_id").combine_chunks(), pa.array(["T-unknown"])]
            ),
            "failed": pa.concat_arrays([truth.column("failed").combine_chunks(), pa.array([False])]),
            "challenger_score": pa.concat_arrays([truth.column("p_fail").combine_chunks(), pa.array([0.5])]),
        }
    )

    report = model_quality.ground_truth_report(
        predictions, model_quality.read_truth(seeded_scratch_warehouse.upstream, day, day, block_bytes=2**14)
    )

    assert report["ground_truth_rows"] == truth.num_rows
    assert report["ground_truth_coverage"] == pytest.approx(truth.num_rows / (truth.num_rows + 1))
    assert report["ground_truth_label_agreement"] == 1.0
    assert report["ground_truth_auc_gap"] == 0.0
    assert 0.5 < report["ground_truth_bayes_roc_auc"] < 1.0
