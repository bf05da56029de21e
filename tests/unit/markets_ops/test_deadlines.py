"""The nightly deadline's reference: the Variable's seconds, a default otherwise, and a round trip
through its serialized form (what the scheduler reads back)."""

from __future__ import annotations

import pytest

from include.markets_ops.deadlines import QueuedAtPlusVariable, interval_seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5400", 5400), (" 60 ", 60), (None, 7200), ("", 7200), ("1h", 7200), ("0", 7200), ("-5", 7200)],
)
def test_the_variable_gives_positive_seconds_or_the_default(value: str | None, expected: int) -> None:
    assert interval_seconds(value, 7200) == expected


def test_the_reference_round_trips_through_its_serialized_form() -> None:
    from airflow.serialization.encoders import encode_deadline_reference

    reference = QueuedAtPlusVariable("trade_reconciliation_deadline_seconds", 3600)
    encoded = encode_deadline_reference(reference)
    assert encoded["__class_path"] == "include.markets_ops.deadlines.QueuedAtPlusVariable"
    assert QueuedAtPlusVariable.deserialize_reference(encoded) == reference
