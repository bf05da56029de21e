"""The "statement ready" message: what parses, and the rule each malformed one breaks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from include.markets_ops.errors import BadInputError
from include.markets_ops.statements.messages import (
    MalformedStatementMessageError,
    StatementReady,
    as_event,
    parse,
    statement_of,
)

GOOD = StatementReady(
    custodian="BNYMELLON",
    business_date=dt.date(2026, 10, 30),
    object_key="landing/custodian_statements/BNYMELLON/business_date=2026-10-30/BNYMELLON.csv.gz",
    rows=1234,
    sha256="0" * 64,
)


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_good_message_round_trips() -> None:
    assert parse(GOOD.key.encode(), _encoded(GOOD.value())) == GOOD
    assert GOOD.key == "BNYMELLON/2026-10-30"


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        (GOOD.key.encode(), None, "value_missing"),
        (GOOD.key.encode(), b"{not json", "value_not_json"),
        (GOOD.key.encode(), b"\xff\xfe", "value_not_json"),
        (GOOD.key.encode(), _encoded([1, 2]), "value_not_an_object"),
        (GOOD.key.encode(), _encoded({"custodian": "BNYMELLON"}), "field_missing"),
        (GOOD.key.encode(), _encoded({**GOOD.value(), "custodian": "bnym; drop"}), "custodian_invalid"),
        (b"NOBODY/2026-10-30", _encoded({**GOOD.value(), "custodian": "NOBODY"}), "custodian_unknown"),
        (
            GOOD.key.encode(),
            _encoded({**GOOD.value(), "business_date": "30/10/2026"}),
            "business_date_invalid",
        ),
        (GOOD.key.encode(), _encoded({**GOOD.value(), "object_key": "reports/x.csv"}), "object_key_invalid"),
        (
            GOOD.key.encode(),
            _encoded({**GOOD.value(), "object_key": "landing/custodian_statements/../../x"}),
            "object_key_invalid",
        ),
        (GOOD.key.encode(), _encoded({**GOOD.value(), "rows": -1}), "rows_invalid"),
        (GOOD.key.encode(), _encoded({**GOOD.value(), "rows": "12"}), "rows_invalid"),
        (GOOD.key.encode(), _encoded({**GOOD.value(), "rows": True}), "rows_invalid"),
        (GOOD.key.encode(), _encoded({**GOOD.value(), "sha256": "abc"}), "sha256_invalid"),
        (b"BNYMELLON/2026-10-29", _encoded(GOOD.value()), "key_value_mismatch"),
        (None, _encoded(GOOD.value()), "key_value_mismatch"),
    ],
)
def test_a_malformed_message_names_the_rule_it_breaks(
    key: bytes | None, value: bytes | None, rule: str
) -> None:
    with pytest.raises(MalformedStatementMessageError) as refused:
        parse(key, value)
    assert refused.value.rule == rule
    assert str(refused.value).startswith(f"{rule}: ")
    assert isinstance(refused.value, BadInputError)  # never retried


class _Message:
    """What the triggerer hands the apply function: a confluent_kafka Message's accessors."""

    def __init__(self, key: bytes | None, value: bytes | None, offset: int = 7) -> None:
        self._key, self._value, self._offset = key, value, offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def topic(self) -> str:
        return "ops.custodian.statements"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


def test_a_statement_message_becomes_an_event_carrying_the_statement_and_where_it_was() -> None:
    event = as_event(_Message(GOOD.key.encode(), _encoded(GOOD.value())))
    assert event == {
        "key": GOOD.key,
        "topic": "ops.custodian.statements",
        "partition": 0,
        "offset": 7,
        "statement": GOOD.value(),
    }
    assert statement_of(event["statement"]) == GOOD
    json.dumps(event)  # stored as the asset event's extra


@pytest.mark.parametrize(("key", "value"), [(None, None), (b"\xff", b"\xfe{"), (b"BNYMELLON/x", b"[]")])
def test_a_malformed_message_becomes_an_event_naming_its_rule_and_never_raises(
    key: bytes | None, value: bytes | None
) -> None:
    event = as_event(_Message(key, value))
    assert "statement" not in event
    assert event["malformed"]["rule"] in {"value_missing", "value_not_json", "value_not_an_object"}
    assert event["malformed"]["detail"].startswith(event["malformed"]["rule"])
    json.dumps(event)


def test_every_settlement_location_has_one_custodian() -> None:
    from include.markets_ops import calendars
    from include.markets_ops.custodians import CUSTODIAN_OF_LOCATION, CUSTODIANS

    locations = {market.settlement_location for market in calendars.MARKETS.values()}
    assert locations == set(CUSTODIAN_OF_LOCATION)
    held = [location for holder in CUSTODIANS for location in holder.settlement_locations]
    assert len(held) == len(set(held))  # no location with two custodians
