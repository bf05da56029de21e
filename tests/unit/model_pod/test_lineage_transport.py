"""The lineage transport: Kafka first, the outbox when Kafka does not take an event in time,
the event logged whole when neither does; never an exception to the caller."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run
from openlineage.client.uuid import generate_new_uuid
from settlement_model import lineage_transport
from settlement_model.lineage_transport import KafkaWithOutboxConfig, KafkaWithOutboxTransport, event_key

ROOT_RUN = "01930000-0000-7000-8000-000000000001"


def _event() -> RunEvent:
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=ROOT_RUN),
        job=parent_run.Job(namespace="markets-ops", name="settlement_risk_scoring.score_shard"),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=ROOT_RUN),
            job=parent_run.RootJob(namespace="markets-ops", name="settlement_risk_scoring"),
        ),
    )
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-12-03T09:00:00+00:00",
        run=Run(runId=str(generate_new_uuid()), facets={"parent": parent}),
        job=Job(namespace="markets-ops", name="settlement_risk_scoring.score_shard.score"),
        producer="https://example.invalid/test",
    )


class FakeProducer:
    def __init__(self, error: str | None = None, unflushed: int = 0, raises: bool = False) -> None:
        self.error, self.unflushed, self.raises = error, unflushed, raises
        self.sent: list[tuple[str, bytes, bytes]] = []

    def produce(self, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
        if self.raises:
            raise BufferError("local queue full")
        self.sent.append((topic, key, value))
        self._report = lambda: on_delivery(self.error, None)

    def flush(self, timeout: float) -> int:
        if self.sent:
            self._report()
        return self.unflushed


def _transport(
    producer: FakeProducer, stored: list[tuple[str, dict]] | None, monkeypatch
) -> KafkaWithOutboxTransport:
    transport = KafkaWithOutboxTransport(
        KafkaWithOutboxConfig.from_dict(
            {
                "type": "x",
                "topic": "openlineage.events",
                "outbox_url": "postgresql://outbox" if stored is not None else None,
            }
        )
    )
    transport._producer = producer

    def store(key: str, payload: dict) -> bool:
        if stored is None:
            return False
        stored.append((key, payload))
        return True

    if stored is not None:
        monkeypatch.setattr(transport, "_store", store)
    return transport


def test_the_key_starts_with_the_root_job_and_names_the_run_type_and_time():
    event = _event()
    payload = {
        "eventType": "COMPLETE",
        "eventTime": event.eventTime,
        "run": {
            "runId": event.run.runId,
            "facets": {
                "parent": {
                    "job": {"namespace": "markets-ops", "name": "a.b"},
                    "root": {"job": {"namespace": "markets-ops", "name": "a"}},
                }
            },
        },
        "job": {"namespace": "markets-ops", "name": "a.b.c"},
    }

    assert event_key(payload) == f"run:markets-ops/a/{event.run.runId}/COMPLETE/{event.eventTime}"


def test_an_event_kafka_acknowledges_goes_to_kafka_only(monkeypatch):
    producer, stored = FakeProducer(), []

    _transport(producer, stored, monkeypatch).emit(_event())

    [(topic, key, _)] = producer.sent
    assert topic == "openlineage.events"
    assert key.decode().startswith("run:markets-ops/settlement_risk_scoring/")
    assert stored == []


@pytest.mark.parametrize(
    "producer",
    [FakeProducer(error="Local: Message timed out"), FakeProducer(unflushed=1), FakeProducer(raises=True)],
    ids=["delivery failed", "not acknowledged in time", "refused locally"],
)
def test_an_event_kafka_does_not_take_is_kept_in_the_outbox_with_the_same_key(monkeypatch, producer):
    stored: list[tuple[str, dict]] = []

    _transport(producer, stored, monkeypatch).emit(_event())

    [(key, payload)] = stored
    assert key == event_key(payload)
    assert payload["job"]["name"] == "settlement_risk_scoring.score_shard.score"


def test_an_event_neither_takes_is_logged_whole_and_raises_nothing(monkeypatch, caplog):
    transport = _transport(FakeProducer(error="broker down"), None, monkeypatch)

    with caplog.at_level(logging.CRITICAL, logger=lineage_transport.__name__):
        transport.emit(_event())

    assert "LINEAGE EVENT LOST" in caplog.text
    assert "settlement_risk_scoring.score_shard.score" in caplog.text


def test_the_client_builds_the_transport_from_its_dotted_type():
    from openlineage.client import OpenLineageClient

    client = OpenLineageClient(
        config={
            "transport": {
                "type": "settlement_model.lineage_transport.KafkaWithOutboxTransport",
                "topic": "openlineage.events",
                "config": {"bootstrap.servers": "127.0.0.1:1"},
            }
        }
    )

    assert isinstance(client.transport, KafkaWithOutboxTransport)
    assert client.transport.config.delivery_timeout_seconds == 3.0
