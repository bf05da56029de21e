"""The shadow comparison of a date: counts and each model's metrics on the realised trades only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from settlement_model.metrics import gate_metric

from include.markets_ops.scoring import shadow
from include.markets_ops.scoring.plan import ScoringPlan

DAY, KNOWN_BY = dt.date(2026, 11, 20), dt.date(2026, 11, 25)


def trade(
    champion: float, challenger: float, failed: bool | None, pair: tuple[str, str] = ("4", "5")
) -> tuple[Any, ...]:
    """A row of shadow_outcomes.sql, in its column order."""
    return ("settlement_fail_risk", pair[0], pair[1], champion, challenger, failed)


def batches(rows: list[tuple[Any, ...]], rows_per_batch: int = 1000) -> list[pa.RecordBatch]:
    """The rows as the read gives them: record batches of shadow_outcomes.sql's columns."""
    names = list(shadow.OUTCOME_COLUMN_TYPES)
    schema = pa.schema(
        [(name, pa.type_for_alias(alias)) for name, alias in shadow.OUTCOME_COLUMN_TYPES.items()]
    )
    return [
        pa.RecordBatch.from_pylist(
            [dict(zip(names, row, strict=True)) for row in rows[start : start + rows_per_batch]], schema
        )
        for start in range(0, len(rows), rows_per_batch)
    ]


def test_both_models_are_measured_on_the_same_realised_trades() -> None:
    rows = [
        trade(0.9, 0.6, True),
        trade(0.2, 0.7, False),
        trade(0.4, 0.1, False),
        trade(0.3, 0.8, None),  # not settled yet: scored, not realised
    ]
    (compared,) = shadow.comparison(batches(rows), DAY, KNOWN_BY)
    assert (compared["scored_trades"], compared["realised_trades"], compared["fails"]) == (4, 3, 1)
    assert (compared["champion_version"], compared["challenger_version"]) == ("4", "5")
    assert compared["champion_roc_auc"] == 1.0  # the one fail ranked first
    assert compared["challenger_roc_auc"] == 0.5
    assert compared["champion_brier"] == pytest.approx(gate_metric("brier", [1, 0, 0], [0.9, 0.2, 0.4]))
    assert compared["challenger_pr_auc"] == pytest.approx(gate_metric("pr_auc", [1, 0, 0], [0.6, 0.7, 0.1]))
    assert (compared["business_date"], compared["outcomes_known_by"]) == (DAY, KNOWN_BY)


def test_metrics_that_say_nothing_are_left_empty() -> None:
    (none_known,) = shadow.comparison(batches([trade(0.9, 0.6, None)]), DAY, KNOWN_BY)
    assert none_known["realised_trades"] == 0
    assert all(
        none_known[f"{m}_{k}"] is None for m in ("champion", "challenger") for k in ("roc_auc", "brier")
    )
    (no_fails,) = shadow.comparison(batches([trade(0.1, 0.2, False), trade(0.3, 0.1, False)]), DAY, KNOWN_BY)
    assert no_fails["champion_roc_auc"] is None  # one outcome only: no ranking to judge
    assert no_fails["champion_brier"] == pytest.approx((0.01 + 0.09) / 2)  # but the Brier score is defined


def test_each_champion_and_challenger_pair_gets_its_own_row() -> None:
    rows = [
        trade(0.9, 0.6, True),
        trade(0.2, 0.7, False, pair=("5", "6")),
        trade(0.3, 0.1, True, pair=("5", "6")),
    ]
    compared = shadow.comparison(batches(rows), DAY, KNOWN_BY)
    assert [(c["champion_version"], c["challenger_version"], c["scored_trades"]) for c in compared] == [
        ("4", "5", 1),
        ("5", "6", 2),
    ]


def test_pairs_mixed_within_and_across_batches_give_what_one_batch_gives() -> None:
    pairs = [("4", "5"), ("5", "6"), ("4", "6")]
    rows = [
        trade(
            (i % 10) / 10, ((i * 7) % 10) / 10, None if i % 5 == 0 else i % 3 == 0, pair=pairs[(i // 4) % 3]
        )
        for i in range(90)
    ]
    whole = shadow.comparison(batches(rows, rows_per_batch=len(rows)), DAY, KNOWN_BY)
    assert [(c["champion_version"], c["challenger_version"]) for c in whole] == sorted(pairs)
    assert sum(c["scored_trades"] for c in whole) == 90
    assert shadow.comparison(batches(rows, rows_per_batch=7), DAY, KNOWN_BY) == whole


def test_the_comparison_reads_postgresqls_csv_nulls_and_booleans() -> None:
    from include.markets_ops.services import copy_csv

    data = (
        b"model_name,champion_version,challenger_version,champion_score,challenger_score,failed\n"
        b"settlement_fail_risk,4,5,0.9,0.6,t\n"
        b"settlement_fail_risk,4,5,0.2,0.7,f\n"
        b"settlement_fail_risk,4,5,0.30000000000000004,0.8,\n"
    )
    read = copy_csv.csv_batches([data[:50], data[50:]], shadow.OUTCOME_COLUMN_TYPES)
    (compared,) = shadow.comparison(read, DAY, KNOWN_BY)
    assert (compared["scored_trades"], compared["realised_trades"], compared["fails"]) == (3, 2, 1)
    assert compared["champion_brier"] == pytest.approx(((0.9 - 1) ** 2 + 0.2**2) / 2)


def test_a_plan_shadows_a_challenger_on_every_shard_never_in_a_dry_run_nor_itself() -> None:
    plan = ScoringPlan(DAY, "settlement_fail_risk", "4", 2, 0.7, 0.3, "scheduled__run", shadow_version="5")
    assert all(arguments[-2:] == ["--shadow-version", "5"] for arguments in plan.shard_arguments())
    assert ScoringPlan.from_xcom(plan.as_xcom()) == plan
    with pytest.raises(ValueError, match="a dry run scores no shadow"):
        ScoringPlan(DAY, "settlement_fail_risk", "4", 2, 0.7, 0.3, "r", dry_run=True, shadow_version="5")
    with pytest.raises(ValueError, match="cannot shadow itself"):
        ScoringPlan(DAY, "settlement_fail_risk", "4", 2, 0.7, 0.3, "r", shadow_version="4")
