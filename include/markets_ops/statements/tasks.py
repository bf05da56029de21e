"""The ``custodian_statements`` DAG's tasks: each custodian's statement, loaded and reconciled as
soon as the custodian announces it.

A run gets the messages that triggered it (one asset event each, watchers.py; several that
arrive while a run is queued fold into one run) and any recent one no run has handled (see
``candidate_payloads``); each message is handled once (``ops.statement_messages``).
``receive`` quarantines the malformed ones and keeps the latest announcement of each custodian
and date; ``load_statement`` (mapped, one per
announcement) loads it unless it is a duplicate or superseded, and reconciles that custodian's
part of the date; ``announce_complete_dates`` emits the asset event that starts the date's full
reconciliation once every custodian's statement of the date is in (or again, when one comes
late). Each outcome is returned (the XCom), so the run's grid says what each message did.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from include.markets_ops.airflow import connections, lineage
from include.markets_ops.custodians import CUSTODIANS, custodian
from include.markets_ops.services import postgres
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.services.topics import CUSTODIAN_STATEMENTS
from include.markets_ops.statements import messages

log = logging.getLogger(__name__)

QUARANTINE_SOURCE = "statement_messages"


@dataclass(frozen=True)
class Delivery:
    sha256: str
    partition: int
    offset: int
    dag_run_id: str | None


# --------------------------------------------------------------------------- receive

# How many of the asset's latest events ``receive`` also looks at: many more than a night's
# statements, few enough to read in one call.
RECENT_EVENTS = 200


def _payloads_of(events: Iterable[Any]) -> dict[tuple[int, int], dict[str, Any]]:
    payloads = {}
    for event in events:
        payload = (event.extra or {}).get("payload")
        if isinstance(payload, dict) and "offset" in payload:
            payloads[(payload["partition"], payload["offset"])] = payload
    return payloads


def candidate_payloads(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The messages of the run's asset events and of the asset's latest events, in the topic's
    order. Why both: an event that arrives while the scheduler creates the run for the one
    before it is consumed by neither run (Airflow 3.3 keeps one queue row per asset and DAG,
    whose time bounds the run's events), and would wait for the next message; the run reads it
    here instead, since it was stored before the run started."""
    from include.markets_ops.airflow.watchers import CUSTODIAN_STATEMENT_READY

    payloads = {}
    for events in (context.get("triggering_asset_events") or {}).values():
        payloads.update(_payloads_of(events))
    recent = context["inlet_events"][CUSTODIAN_STATEMENT_READY].ascending(False).limit(RECENT_EVENTS)
    payloads.update(_payloads_of(recent))
    return [payloads[position] for position in sorted(payloads)]


def receive(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``receive`` task: the messages no run has handled yet; the malformed ones (and those
    of a date that is not a business day) quarantined with their rule, an announcement that a
    later one of the same custodian and date replaces marked superseded, the rest returned."""
    run_id = context["run_id"]
    # The watcher consumed the topic; the announcements reach this task as asset events.
    lineage.report_topics(read=(CUSTODIAN_STATEMENTS.name,))
    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as conn:
        sorted_out = sort_messages(unhandled(conn, candidate_payloads(context)))
        with conn.transaction():
            quarantine_messages(conn, sorted_out.malformed, sorted_out.refused, run_id)
            for payload in sorted_out.superseded:
                record_message(conn, payload, "superseded", run_id)
    log.info("messages to handle: %s", sorted_out.counts())
    return sorted_out.to_load


@dataclass(frozen=True)
class SortedMessages:
    to_load: list[dict[str, Any]]  # the latest announcement of each custodian and date
    superseded: list[dict[str, Any]]  # an earlier one of the same custodian and date
    malformed: list[dict[str, Any]]
    refused: list[dict[str, Any]]  # a date that is not a business day

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("to_load", "superseded", "malformed", "refused")}


def sort_messages(payloads: list[dict[str, Any]]) -> SortedMessages:
    """The payloads (in the topic's order) by what is to become of them."""
    malformed = [p for p in payloads if "malformed" in p]
    refused: list[dict[str, Any]] = []
    announcements: list[dict[str, Any]] = []
    for payload in (p for p in payloads if "statement" in p):
        (announcements if _is_business_day(payload) else refused).append(payload)
    latest = {p["key"]: p for p in announcements}
    superseded = [p for p in announcements if latest[p["key"]] is not p]
    return SortedMessages(list(latest.values()), superseded, malformed, refused)


def unhandled(conn: Any, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payloads whose message no run has recorded in ops.statement_messages."""
    rows = conn.execute(
        read_sql("statements/handled_messages.sql"),
        {"partitions": [p["partition"] for p in payloads], "offsets": [p["offset"] for p in payloads]},
    ).fetchall()
    conn.commit()
    handled = {(partition, offset) for partition, offset in rows}
    return [p for p in payloads if _where(p) not in handled]


def record_message(conn: Any, payload: dict[str, Any], outcome: str, dag_run_id: str) -> None:
    partition, offset = _where(payload)
    conn.execute(
        read_sql("statements/record_message.sql"),
        {
            "partition": partition,
            "offset": offset,
            "message_key": payload["key"],
            "outcome": outcome,
            "dag_run_id": dag_run_id,
        },
    )


def _is_business_day(payload: dict[str, Any]) -> bool:
    from include.markets_ops.calendars import OPERATIONS_CALENDAR, is_business_day

    return is_business_day(dt.date.fromisoformat(payload["statement"]["business_date"]), OPERATIONS_CALENDAR)


def quarantine_messages(
    conn: Any, malformed: Iterable[dict[str, Any]], refused: Iterable[dict[str, Any]], dag_run_id: str
) -> None:
    """Each message whole in reporting.quarantine with its rule, once (a rerun replaces it).
    A malformed message is filed under the day it was read (its own date may be unreadable)."""
    rows = [(payload, payload["malformed"]["rule"], dt.date.today()) for payload in malformed]
    rows += [
        (payload, "not_a_business_day", dt.date.fromisoformat(payload["statement"]["business_date"]))
        for payload in refused
    ]
    for payload, rule, business_date in rows:
        partition, offset = _where(payload)
        parameters = {
            "business_date": business_date,
            "source": QUARANTINE_SOURCE,
            "record_key": payload["key"][:64],
            "partition": str(partition),
            "offset": str(offset),
        }
        conn.execute(read_sql("statements/delete_quarantined_message.sql"), parameters)
        conn.execute(
            read_sql("statements/quarantine_message.sql"),
            {**parameters, "rule": rule, "raw_record": json.dumps(payload), "dag_run_id": dag_run_id},
        )
        record_message(conn, payload, "quarantined", dag_run_id)
        log.warning("quarantined %s (partition %s, offset %s): %s", payload["key"], partition, offset, rule)


def _where(payload: dict[str, Any]) -> tuple[int, int]:
    return payload["partition"], payload["offset"]


# --------------------------------------------------------------------------- load


def load_statement(context: Mapping[str, Any], announcement: dict[str, Any]) -> dict[str, Any]:
    """The ``load_statement`` task (one per announcement)."""
    from airflow.sdk import get_current_context

    statement = messages.statement_of(announcement["statement"])
    # The mapped task's label in the grid (map_index_template): the live context, not the
    # copy the task received as keyword arguments.
    get_current_context()["statement_key"] = statement.key  # type: ignore[typeddict-unknown-key]
    return load_and_reconcile(statement, announcement, connections.s3_bucket(), context["run_id"])


def load_and_reconcile(
    statement: messages.StatementReady, announcement: dict[str, Any], bucket: str, dag_run_id: str
) -> dict[str, Any]:
    """Load the announced statement unless it is loaded already (same sha256) or a later
    announcement was (a higher offset); then reconcile that custodian's part of the date."""
    from include.markets_ops.feed import landing
    from include.markets_ops.feed.loader import TooManyBadRowsError
    from include.markets_ops.reconciliation.breaks import Scope, reconcile
    from include.markets_ops.statements.upstream import source_of

    outcome = {"key": statement.key, "business_date": statement.business_date.isoformat()}
    partition, offset = _where(announcement)
    with connections.connect_postgres(postgres.WAREHOUSE_CONN_ID) as conn:
        delivered = delivery_of(conn, statement)
        if delivered is not None and delivered.sha256 == statement.sha256:
            log.info("%s: this file is loaded already (run %s)", statement.key, delivered.dag_run_id)
            return {**outcome, **not_loaded(conn, announcement, "duplicate", dag_run_id)}
        if delivered is not None and (delivered.partition, delivered.offset) > (partition, offset):
            log.warning("%s: a later announcement is loaded already: this one is stale", statement.key)
            return {**outcome, **not_loaded(conn, announcement, "superseded", dag_run_id)}
        store = landing.S3Store(connections.s3_client(), bucket)
        manifest = landing.read_manifest(store, source_of(statement.custodian), statement.business_date)
        announced = (statement.object_key, statement.sha256, statement.rows)
        if (manifest.object_key, manifest.sha256, manifest.rows) != announced:
            log.warning("%s: the file was replaced since this announcement (its own loads it)", statement.key)
            return {**outcome, **not_loaded(conn, announcement, "superseded", dag_run_id)}
        holder = custodian(statement.custodian)
        refused: TooManyBadRowsError | None = None
        # The load and its reconciliation commit together: a try that fails between them
        # leaves neither, and its retry loads again (it would be a duplicate otherwise).
        with conn.transaction():
            try:
                report = load(
                    conn, statement, announcement, lambda: landing.stream(store, manifest), dag_run_id
                )
            except TooManyBadRowsError as error:
                refused = error  # nothing merged; its quarantined rows are kept (committed)
            else:
                summary = reconcile(
                    conn, statement.business_date, scope=Scope(holder.name, holder.settlement_locations)
                )
        if refused is not None:
            raise refused
    return {
        **outcome,
        "outcome": "loaded",
        "rows": report.received,
        "loaded": report.loaded,
        "quarantined": report.quarantined,
        "open_breaks": summary.open_breaks,
        "open_by_type": summary.open_by_type,
    }


def not_loaded(conn: Any, announcement: dict[str, Any], outcome: str, dag_run_id: str) -> dict[str, Any]:
    with conn.transaction():
        record_message(conn, announcement, outcome, dag_run_id)
    return {"outcome": outcome}


def delivery_of(conn: Any, statement: messages.StatementReady) -> Delivery | None:
    row = conn.execute(
        read_sql("statements/delivery_of.sql"),
        {"business_date": statement.business_date, "custodian_code": statement.custodian},
    ).fetchone()
    conn.commit()
    return Delivery(*row) if row else None


def load(
    conn: Any,
    statement: messages.StatementReady,
    announcement: dict[str, Any],
    open_file: Any,
    dag_run_id: str,
) -> Any:
    """The custodian's rows of the date replaced by the file's, the delivery and the message
    recorded, in one transaction (feed/loader.py: checks, quarantine, COPY)."""
    from include.markets_ops.feed.loader import LoadReport, load_file
    from include.markets_ops.feed.sources import CUSTODIAN_STATEMENT

    partition, offset = _where(announcement)

    def record_delivery(cursor: Any, report: LoadReport) -> None:
        cursor.execute(
            read_sql("statements/record_delivery.sql"),
            {
                "business_date": statement.business_date,
                "custodian_code": statement.custodian,
                "object_key": statement.object_key,
                "sha256": statement.sha256,
                "announced_rows": statement.rows,
                "loaded_rows": report.loaded,
                "quarantined_rows": report.quarantined,
                "kafka_partition": partition,
                "kafka_offset": offset,
                "dag_run_id": dag_run_id,
            },
        )
        record_message(cursor, announcement, "loaded", dag_run_id)

    return load_file(
        conn,
        CUSTODIAN_STATEMENT,
        statement.business_date,
        open_file,
        dag_run_id=dag_run_id,
        scope={
            "custodian": custodian(statement.custodian).name,
            "source": f"statement/{statement.custodian}",
        },
        after_merge=record_delivery,
    )


# --------------------------------------------------------------------------- complete dates


def announce_complete_dates(context: Mapping[str, Any], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``announce_complete_dates`` task: the asset event (extra ``business_date``) that
    starts the full reconciliation of the latest date this run completed or updated, once
    every custodian's statement of it is in; no event otherwise."""
    from include.markets_ops.airflow.assets import STATEMENT_DELIVERIES
    from include.markets_ops.airflow.dry_run import suppress_asset_events

    loaded_dates = sorted({o["business_date"] for o in outcomes if o and o.get("outcome") == "loaded"})
    waiting_for = missing_custodians([dt.date.fromisoformat(day) for day in loaded_dates])
    complete = [day for day in loaded_dates if not waiting_for[day]]
    if not complete:
        suppress_asset_events(context)
        return {"complete": [], "waiting_for": waiting_for}
    if len(complete) > 1:
        log.warning(
            "dates %s are complete too: reconcile them with a run of trade_reconciliation each", complete[:-1]
        )
    context["outlet_events"][STATEMENT_DELIVERIES].extra = {"business_date": complete[-1]}
    return {"complete": complete, "announced": complete[-1]}


def missing_custodians(business_dates: list[dt.date]) -> dict[str, list[str]]:
    """Per date (ISO), the custodians whose statement of it is not loaded yet: one connection."""
    waiting_for = {}
    with connections.connect_postgres(postgres.REPORTING_CONN_ID) as conn:
        for business_date in business_dates:
            rows = conn.execute(
                read_sql("statements/delivered_custodians.sql"), {"business_date": business_date}
            )
            delivered = {row[0] for row in rows}
            waiting_for[business_date.isoformat()] = [c.code for c in CUSTODIANS if c.code not in delivered]
    return waiting_for
