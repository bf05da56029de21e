"""Hand-made warehouse scenarios for the reconciliation and alert tests.

Each test module works in its own range of business dates (far from the synthetic data and
from the other modules, see DATE_RANGES) and deletes every row of that range before it
starts, so tests neither see nor break each other's rows. Rows are written with COPY as the
writer role, the pipelines' role.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Per test module: [first, last] calendar dates it owns. Ranges must not overlap.
DATE_RANGES: dict[str, tuple[dt.date, dt.date]] = {
    "recon_scenarios": (dt.date(2031, 1, 1), dt.date(2031, 3, 31)),
    "recon_aging": (dt.date(2031, 5, 1), dt.date(2031, 5, 31)),
    "recon_dag": (dt.date(2031, 7, 1), dt.date(2031, 7, 31)),
    "faults": (dt.date(2031, 9, 1), dt.date(2031, 9, 30)),
    "alert_rules": (dt.date(2032, 1, 1), dt.date(2032, 12, 31)),
    "alert_dag": (dt.date(2033, 3, 1), dt.date(2033, 3, 31)),
    "acceptance_aging": (dt.date(2033, 9, 1), dt.date(2033, 9, 30)),
    "acceptance_alerts": (dt.date(2033, 10, 1), dt.date(2033, 11, 30)),
    "links_and_dry_runs": (dt.date(2034, 1, 1), dt.date(2034, 1, 31)),
}

COUNTERPARTIES = ("TCP-ALPHA", "TCP-BETA", "TCP-GAMMA", "TCP-DELTA")
INSTRUMENTS = ("TST000000001", "TST000000002")


@dataclass
class Trade:
    trade_id: str
    business_date: dt.date
    settle_date: dt.date
    quantity: Decimal = Decimal("1000")
    price: Decimal = Decimal("100")
    counterparty_id: str = COUNTERPARTIES[0]
    instrument_id: str = INSTRUMENTS[0]
    status: str = "pending"
    confirmed_at: dt.datetime | None = None
    trade_date: dt.date | None = None

    def row(self) -> tuple[Any, ...]:
        booked = dt.datetime.combine(self.business_date, dt.time(14), tzinfo=dt.UTC)
        return (
            self.trade_id,
            self.business_date,
            self.trade_date or self.business_date,
            self.settle_date,
            "EQ-CASH",
            "BOOK-1",
            self.instrument_id,
            "BUY",
            self.quantity,
            self.price,
            (self.quantity * self.price).quantize(Decimal("0.01")),
            "USD",
            self.counterparty_id,
            "DTC",
            "matched",
            booked,
            self.confirmed_at,
            booked,
            self.status,
        )

    def confirmation(self, business_date: dt.date, **changes: Any) -> Confirmation:
        """The custodian's line for this trade on ``business_date``, with ``changes`` applied."""
        values = {
            "business_date": business_date,
            "trade_ref": self.trade_id,
            "quantity": self.quantity,
            "price": self.price,
            "settle_date": self.settle_date,
            "counterparty_id": self.counterparty_id,
            "instrument_id": self.instrument_id,
        }
        values.update(changes)
        return Confirmation(**values)


@dataclass
class Confirmation:
    business_date: dt.date
    trade_ref: str
    quantity: Decimal
    price: Decimal
    settle_date: dt.date
    counterparty_id: str
    instrument_id: str = INSTRUMENTS[0]

    def row(self) -> tuple[Any, ...]:
        return (
            self.business_date,
            self.trade_ref,
            "TEST-CUSTODIAN",
            self.instrument_id,
            "BUY",
            self.quantity,
            self.price,
            self.settle_date,
            self.counterparty_id,
            "DTC",
            dt.datetime.combine(self.business_date, dt.time(22), tzinfo=dt.UTC),
        )


@dataclass
class Outcome:
    trade_id: str
    business_date: dt.date
    outcome: str  # settled | failed
    fail_reason: str | None = None
    days_late: int = 0  # a settlement after a fail is late (> 0)

    def row(self) -> tuple[Any, ...]:
        settled = self.business_date if self.outcome == "settled" else None
        return (self.trade_id, self.business_date, self.outcome, settled, self.days_late, self.fail_reason)


TRADE_COLUMNS = (
    "trade_id, business_date, trade_date, settle_date, desk, book, instrument_id, side, quantity, price, "
    "notional, currency, counterparty_id, settlement_location, ssi_status, booked_at, confirmed_at, "
    "allocated_at, status"
)
CONFIRMATION_COLUMNS = (
    "business_date, trade_ref, custodian, instrument_id, side, quantity, price, settle_date, "
    "counterparty_id, settlement_location, received_at"
)
OUTCOME_COLUMNS = "trade_id, business_date, outcome, settled_date, days_late, fail_reason"


def copy_rows(conn: Any, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def ensure_reference_data(conn: Any) -> None:
    """Currencies, counterparties and instruments the scenario trades refer to (idempotent)."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ops.currencies VALUES ('USD', 'US Dollar', 2) ON CONFLICT (currency_code) DO NOTHING"
        )
        for index, counterparty in enumerate(COUNTERPARTIES):
            cur.execute(
                "INSERT INTO ops.counterparties VALUES (%s, %s, %s, 'US', 'broker_dealer') "
                "ON CONFLICT (counterparty_id) DO NOTHING",
                [counterparty, f"Test counterparty {counterparty}", f"TESTLEI{index:013d}"],
            )
        for instrument in INSTRUMENTS:
            cur.execute(
                "INSERT INTO ops.instruments VALUES (%s, 'Test equity', 'equity', 'XNYS', 'USD', 'DTC', 1, 1)"
                " ON CONFLICT (instrument_id) DO NOTHING",
                [instrument],
            )


@dataclass
class Scenario:
    """Rows to load for one test; ``load`` writes them in one transaction."""

    trades: list[Trade] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    scores: list[tuple[dt.date, str, float]] = field(default_factory=list)  # (date, trade_id, score)
    promotions: list[dict[str, Any]] = field(default_factory=list)

    def load(self, conn: Any) -> None:
        with conn.transaction():
            ensure_reference_data(conn)
            copy_rows(conn, "ops.trades", TRADE_COLUMNS, (t.row() for t in self.trades))
            copy_rows(
                conn,
                "ops.custodian_confirmations",
                CONFIRMATION_COLUMNS,
                (c.row() for c in self.confirmations),
            )
            copy_rows(conn, "ops.settlement_outcomes", OUTCOME_COLUMNS, (o.row() for o in self.outcomes))
            copy_rows(
                conn,
                "ml.trade_scores",
                "business_date, trade_id, model_name, model_version, score, risk_band, scoring_run_id, "
                "scored_at",
                (
                    (
                        day,
                        trade_id,
                        "settlement_fail_risk",
                        "1",
                        score,
                        "high" if score >= 0.7 else "medium" if score >= 0.3 else "low",
                        "test-run",
                        dt.datetime.combine(day, dt.time(23), tzinfo=dt.UTC),
                    )
                    for day, trade_id, score in self.scores
                ),
            )
            copy_rows(
                conn,
                "ml.model_promotions",
                "decided_at, model_name, candidate_version, previous_champion_version, decision, reasons, "
                "dag_id, dag_run_id, triggered_by",
                (
                    (
                        p["decided_at"],
                        p.get("model_name", "settlement_fail_risk"),
                        p["version"],
                        p.get("previous"),
                        p["decision"],
                        json.dumps(p.get("reasons", [])),
                        "test",
                        "test",
                        "pytest",
                    )
                    for p in self.promotions
                ),
            )


def clear_dates(conn: Any, first: dt.date, last: dt.date, model_prefix: str | None = None) -> None:
    """Delete every row of [first, last] the reconciliation and alert tests read or write, and
    the model promotions of models named ``model_prefix...``."""
    window = {"first": first, "last": last, "prefix": (model_prefix or "") + "%"}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "DELETE FROM ops.settlement_outcomes WHERE trade_id IN ("
            " SELECT trade_id FROM ops.trades WHERE business_date BETWEEN %(first)s AND %(last)s)"
            " OR business_date BETWEEN %(first)s AND %(last)s",
            window,
        )
        cur.execute("DELETE FROM ml.trade_scores WHERE business_date BETWEEN %(first)s AND %(last)s", window)
        cur.execute(
            "DELETE FROM ops.custodian_confirmations WHERE business_date BETWEEN %(first)s AND %(last)s",
            window,
        )
        cur.execute("DELETE FROM ops.trades WHERE business_date BETWEEN %(first)s AND %(last)s", window)
        for table in ("reporting.recon_breaks", "reporting.alerts", "reporting.alert_rule_runs"):
            cur.execute(f"DELETE FROM {table} WHERE business_date BETWEEN %(first)s AND %(last)s", window)
        if model_prefix:
            cur.execute(
                "DELETE FROM ml.model_promotions WHERE model_name LIKE %(prefix)s",
                window,
            )


@contextmanager
def connect(url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        yield conn
