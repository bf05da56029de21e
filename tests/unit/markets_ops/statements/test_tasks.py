"""custodian_statements' choices that need no stack: which messages a run handles, in which
order, and what becomes of each (the stack's own test: tests/integration/test_custodian_statements.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.markets_ops.statements.tasks import candidate_payloads, sort_messages

FRIDAY, SATURDAY = "2026-10-30", "2026-10-31"


def _announcement(
    offset: int, custodian: str = "EUROCLEAR", day: str = FRIDAY, sha: str = "a"
) -> dict[str, Any]:
    return {
        "key": f"{custodian}/{day}",
        "partition": 0,
        "offset": offset,
        "statement": {"custodian": custodian, "business_date": day, "sha256": sha * 64},
    }


def _malformed(offset: int) -> dict[str, Any]:
    return {"key": "x", "partition": 0, "offset": offset, "malformed": {"rule": "value_not_json"}}


@dataclass
class _Event:
    extra: dict[str, Any]


class _Recent:
    """The Task SDK's inlet events accessor: the asset's latest events, newest first."""

    def __init__(self, events: list[_Event]) -> None:
        self.events = events
        self.asked: dict[str, Any] = {}

    def ascending(self, ascending: bool) -> _Recent:
        self.asked["ascending"] = ascending
        return self

    def limit(self, limit: int) -> _Recent:
        self.asked["limit"] = limit
        return self

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.events)


def test_a_run_handles_its_own_events_and_the_recent_ones_no_run_consumed_in_the_topics_order() -> None:
    from include.markets_ops.airflow.watchers import CUSTODIAN_STATEMENT_READY

    triggering = [_Event({"payload": _announcement(5)})]
    # Offset 6 arrived while the run for 5 was being created: Airflow gave it to no run.
    recent = _Recent(
        [_Event({"payload": _announcement(6, "CLSBANK")}), _Event({"payload": _announcement(5)})]
    )
    context = {
        "triggering_asset_events": {CUSTODIAN_STATEMENT_READY: triggering},
        "inlet_events": {CUSTODIAN_STATEMENT_READY: recent},
    }

    payloads = candidate_payloads(context)

    assert [p["offset"] for p in payloads] == [5, 6]  # each once, in order
    assert recent.asked == {"ascending": False, "limit": 200}


def test_events_without_a_watchers_payload_are_ignored() -> None:
    from include.markets_ops.airflow.watchers import CUSTODIAN_STATEMENT_READY

    context = {
        "triggering_asset_events": {CUSTODIAN_STATEMENT_READY: [_Event({}), _Event({"payload": "text"})]},
        "inlet_events": {CUSTODIAN_STATEMENT_READY: _Recent([])},
    }
    assert candidate_payloads(context) == []


def test_the_latest_announcement_of_a_custodian_and_date_is_loaded_the_earlier_ones_superseded() -> None:
    payloads = [
        _announcement(1, sha="a"),
        _announcement(2, "CLSBANK"),
        _announcement(3, sha="b"),  # the same custodian and date announced again, a new file
        _malformed(4),
        _announcement(5, day=SATURDAY),
    ]

    sorted_out = sort_messages(payloads)

    assert [p["offset"] for p in sorted_out.to_load] == [3, 2]  # by key, each its latest
    assert [p["offset"] for p in sorted_out.superseded] == [1]
    assert [p["offset"] for p in sorted_out.malformed] == [4]
    assert [p["offset"] for p in sorted_out.refused] == [5]  # not a business day
    assert sorted_out.counts() == {"to_load": 2, "superseded": 1, "malformed": 1, "refused": 1}
