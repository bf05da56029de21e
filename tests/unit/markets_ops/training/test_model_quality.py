"""The ground-truth report: the model's ROC AUC next to the Bayes-optimal one (the true fail
probabilities ranked on the same rows), checked against a brute-force pairwise AUC."""

from __future__ import annotations

import itertools

import pandas as pd
import pyarrow as pa
import pytest

from include.markets_ops.training import model_quality


def ground_truth_report(predictions: pd.DataFrame, truth: pd.DataFrame, **columns: str) -> dict[str, float]:
    """The report of frames as the task reads them: the predictions as one Arrow table, the
    truth in batches of three rows (so a trade's truth can be in any batch)."""
    batches = pa.Table.from_pandas(truth, preserve_index=False).to_batches(max_chunksize=3)
    return model_quality.ground_truth_report(pa.Table.from_pandas(predictions), batches, **columns)


def pairwise_auc(labels: list[bool], scores: list[float]) -> float:
    """P(score of a failed trade > score of a settled one), ties counting one half: the
    definition of ROC AUC, by enumerating every (failed, settled) pair."""
    failed = [score for label, score in zip(labels, scores, strict=True) if label]
    settled = [score for label, score in zip(labels, scores, strict=True) if not label]
    wins = sum(1.0 if f > s else 0.5 if f == s else 0.0 for f, s in itertools.product(failed, settled))
    return wins / (len(failed) * len(settled))


# Ten evaluated trades; the ground truth covers eight of them (T9 and T10 were booked before
# the truth's window) and one trade the evaluation does not have (T99). The model ties two
# scores and misorders some pairs; the truth's own label differs from the warehouse's for T4.
PREDICTIONS = pd.DataFrame(
    {
        "trade_id": [f"T{i}" for i in range(1, 11)],
        "failed": [True, False, True, False, False, True, False, False, True, False],
        "challenger_score": [0.90, 0.40, 0.35, 0.35, 0.10, 0.60, 0.70, 0.05, 0.99, 0.01],
    }
)
TRUTH = pd.DataFrame(
    {
        "trade_id": ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T99"],
        "p_fail": [0.30, 0.02, 0.25, 0.08, 0.01, 0.12, 0.04, 0.03, 0.50],
        "failed": [True, False, True, True, False, True, False, False, True],
    }
)


def test_the_report_on_the_rows_the_truth_covers() -> None:
    covered = PREDICTIONS[PREDICTIONS["trade_id"].isin(TRUTH["trade_id"])]
    truth = TRUTH.set_index("trade_id").loc[covered["trade_id"]]
    labels = covered["failed"].tolist()
    expected_model = pairwise_auc(labels, covered["challenger_score"].tolist())
    expected_bayes = pairwise_auc(labels, truth["p_fail"].tolist())
    # By hand, to pin the brute force itself: 3 failed (T1, T3, T6) x 5 settled trades. The
    # model's pairs: T1 wins 5, T3 2.5 (loses to T2 and T7, ties T4), T6 4: 11.5 of 15; the
    # true p_fail ranks every failed trade above every settled one.
    assert expected_model == pytest.approx(11.5 / 15)
    assert expected_bayes == 1.0

    report = ground_truth_report(PREDICTIONS, TRUTH)

    assert report["ground_truth_rows"] == 8
    assert report["ground_truth_coverage"] == pytest.approx(8 / 10)
    assert report["ground_truth_label_agreement"] == pytest.approx(7 / 8)  # T4 disagrees
    assert report["ground_truth_model_roc_auc"] == pytest.approx(expected_model)
    assert report["ground_truth_bayes_roc_auc"] == pytest.approx(expected_bayes)
    assert report["ground_truth_auc_gap"] == pytest.approx(expected_bayes - expected_model)


def test_the_bayes_auc_is_the_auc_of_p_fail_even_when_the_truth_misranks() -> None:
    # Outcomes are random draws: a settled trade can have a higher p_fail than a failed one.
    truth = TRUTH.assign(p_fail=[0.30, 0.40, 0.25, 0.08, 0.01, 0.02, 0.04, 0.03, 0.50])
    covered = PREDICTIONS.iloc[:8]
    expected_bayes = pairwise_auc(covered["failed"].tolist(), truth["p_fail"].iloc[:8].tolist())
    assert expected_bayes < 1.0

    report = ground_truth_report(PREDICTIONS, truth)

    assert report["ground_truth_bayes_roc_auc"] == pytest.approx(expected_bayes)
    assert report["ground_truth_auc_gap"] == pytest.approx(
        expected_bayes - pairwise_auc(covered["failed"].tolist(), covered["challenger_score"].tolist())
    )


def test_a_model_scoring_with_the_true_probabilities_has_no_gap() -> None:
    perfect = PREDICTIONS.iloc[:8].assign(challenger_score=TRUTH["p_fail"].iloc[:8].to_numpy())
    report = ground_truth_report(perfect, TRUTH)
    assert report["ground_truth_coverage"] == 1.0
    assert report["ground_truth_auc_gap"] == 0.0


def test_the_label_and_score_columns_can_be_named() -> None:
    renamed = PREDICTIONS.rename(columns={"failed": "label", "challenger_score": "score"})
    report = ground_truth_report(renamed, TRUTH, labels_column="label", score_column="score")
    assert report == ground_truth_report(PREDICTIONS, TRUTH)


def test_no_overlap_with_the_truth_is_an_error() -> None:
    elsewhere = TRUTH.assign(trade_id=[f"X{i}" for i in range(len(TRUTH))])
    with pytest.raises(ValueError, match="no evaluation row has a ground-truth probability"):
        ground_truth_report(PREDICTIONS, elsewhere)


def test_a_trade_evaluated_on_several_dates_gets_its_truth_on_each() -> None:
    twice = pd.concat([PREDICTIONS, PREDICTIONS.iloc[[0, 1]]], ignore_index=True)
    p_fail, failed, covered = model_quality.truth_of(
        pa.array(twice["trade_id"]), pa.Table.from_pandas(TRUTH).to_batches(max_chunksize=2)
    )
    assert covered.tolist() == [True] * 8 + [False, False] + [True, True]
    assert p_fail[[0, 10]].tolist() == [0.30, 0.30]
    assert p_fail[[1, 11]].tolist() == [0.02, 0.02]
    assert failed[:8].tolist() == TRUTH["failed"].iloc[:8].tolist()


def test_the_truths_csv_is_parsed_block_by_block_from_chunks_cut_anywhere() -> None:
    rows = [f"T{i},{i / 1000},{'t' if i % 7 == 0 else 'f'}\n" for i in range(2000)]
    data = ("trade_id,p_fail,failed\n" + "".join(rows)).encode()
    chunks = [data[start : start + 37] for start in range(0, len(data), 37)]  # mid-line, mid-field

    batches = list(model_quality.parse_truth_csv(chunks, block_bytes=4096))

    assert len(batches) > 1  # several blocks: never the whole CSV at once
    table = pa.Table.from_batches(batches)
    assert table.schema.names == ["trade_id", "p_fail", "failed"]
    assert table.column("trade_id").to_pylist() == [f"T{i}" for i in range(2000)]
    assert table.column("p_fail").to_pylist() == [i / 1000 for i in range(2000)]
    assert table.column("failed").to_pylist() == [i % 7 == 0 for i in range(2000)]
