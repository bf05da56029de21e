"""The simulated custodians: each sends its statement of a business date, then announces it.

A custodian's statement is its part of the day's statement (synthetic.daily, with the same
injected bad rows as the feed's consolidated file): written to the landing area
(``landing/custodian_statements/<CODE>/business_date=D/<CODE>.csv.gz`` and its manifest), then
one "statement ready" message on ``ops.custodian.statements`` (messages.py). Delivering the same
statement again writes the same bytes and the same message: the watcher's DAG loads it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from include.markets_ops.custodians import custodian
from include.markets_ops.feed import landing
from include.markets_ops.statements.messages import StatementReady
from include.markets_ops.synthetic.config import DEFAULT_BAD_ROW_RATE

log = logging.getLogger(__name__)

STATEMENTS_SOURCE = "custodian_statements"


def source_of(code: str) -> str:
    """The landing source of a custodian's statements (its folder under landing/)."""
    return f"{STATEMENTS_SOURCE}/{code}"


def statements_of_day(
    upstream_connection: Any, business_date: dt.date, codes: Iterable[str], bad_row_rate: float
) -> dict[str, Any]:
    """Each custodian's part of the day's statement (a pyarrow table per code)."""
    import pyarrow.compute as pc

    from include.markets_ops.synthetic import upstream

    config = upstream.world(upstream_connection, business_date)
    statement = upstream.upstream_day(config, business_date, bad_row_rate).files["custodian_confirmations"]
    return {code: statement.filter(pc.equal(statement["custodian"], custodian(code).name)) for code in codes}


def deliver_statements(
    upstream_connection: Any,
    store: landing.ObjectStore,
    kafka_config: dict[str, Any],
    business_date: dt.date,
    codes: Iterable[str],
    *,
    topic: str,
    bad_row_rate: float = DEFAULT_BAD_ROW_RATE,
) -> list[StatementReady]:
    """Each custodian of ``codes`` in turn: its file written, then its message published."""
    from include.markets_ops.services.kafka import publish

    delivered = []
    for code, table in statements_of_day(upstream_connection, business_date, codes, bad_row_rate).items():
        manifest = landing.publish(store, source_of(code), business_date, table)
        message = StatementReady(code, business_date, manifest.object_key, manifest.rows, manifest.sha256)
        publish(kafka_config, topic, [(message.key, message.value())])
        log.info("%s: %d rows in %s, announced on %s", message.key, message.rows, message.object_key, topic)
        delivered.append(message)
    return delivered
