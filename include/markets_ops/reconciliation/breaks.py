"""Trade reconciliation: the bank's open trades against the custodians' statement, in raw SQL.

For a business date D, include/sql/recon/insert_breaks.sql matches the bank's open trades as of
D with ``ops.custodian_confirmations`` of D on the trade reference and classifies each break
(see that file for the exact population). Breaks age in business days of the operations
calendar: a break still there keeps the ``first_seen_date`` it had on the previous reconciled
date, and a break that is gone is written once more, as ``resolved`` on D. The date's rows in
``reporting.recon_breaks`` are replaced in one transaction, so a rerun or a backfill of D gives
the same rows (as long as its inputs and the previous date's breaks are the same).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR, check_business_date
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.warehouse.models import BREAK_TYPES

# A trade due this many operations business days before the business date, or earlier, is only
# in the open population when a fail was reported for it (see insert_breaks.sql).
DEFAULT_OUTCOME_LAG_BUSINESS_DAYS = 1
# A trade due after the business date is due within this many days of it (settlement cycles
# are at most T+5 business days, ops.instruments), and a fail older than this is the buy-in
# process's: bounds the index ranges the population reads (insert_breaks.sql).
RECENT_DAYS = 31
DEFAULT_STATEMENT_TIMEOUT = "15min"
# Breaks age across a short outage (the previous reconciled date may be up to this many
# business days back); after a longer one they start again as new.
MAX_AGING_GAP_BUSINESS_DAYS = 5


@dataclass(frozen=True)
class Tolerances:
    """What is not a break: price differences up to ``price_bp`` basis points of the bank's
    price, and quantity differences up to ``quantity`` units."""

    price_bp: Decimal = Decimal("1")
    quantity: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        if self.price_bp < 0 or self.quantity < 0:
            raise ValueError(f"tolerances must not be negative: {self}")


@dataclass(frozen=True)
class Scope:
    """One custodian's part of a date: its statement rows and the trades in its settlement
    locations (statements/custodians.py). ``None`` for a scope is the whole date."""

    custodian: str
    settlement_locations: tuple[str, ...]

    def parameters(self) -> dict[str, Any]:
        return {"custodian": self.custodian, "settlement_locations": list(self.settlement_locations)}


WHOLE_DATE: dict[str, Any] = {"custodian": None, "settlement_locations": None}


@dataclass(frozen=True)
class ReconSummary:
    business_date: dt.date
    previous_date: dt.date | None
    open_by_type: dict[str, int]
    new_by_type: dict[str, int]
    resolved_by_type: dict[str, int]
    oldest_open_break: dict[str, Any] | None = None
    tolerances: dict[str, str] = field(default_factory=dict)

    @property
    def open_breaks(self) -> int:
        return sum(self.open_by_type.values())

    @property
    def new_breaks(self) -> int:
        return sum(self.new_by_type.values())

    @property
    def resolved_breaks(self) -> int:
        return sum(self.resolved_by_type.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings), with the totals; the XCom and the Kafka event."""
        data = asdict(self)
        data["business_date"] = self.business_date.isoformat()
        data["previous_date"] = self.previous_date.isoformat() if self.previous_date else None
        data["open_breaks"] = self.open_breaks
        data["new_breaks"] = self.new_breaks
        data["resolved_breaks"] = self.resolved_breaks
        if self.oldest_open_break:
            data["oldest_open_break"] = {
                key: value.isoformat() if isinstance(value, dt.date) else value
                for key, value in self.oldest_open_break.items()
            }
        return data


# Planner settings for the reconciliation's transaction, both measured by make bench:
# - jit off: the classification's row estimates are far above what it returns (a few percent of
#   the pairs break), which pushes the plan past the JIT thresholds; compiling then cost ~1.5 s
#   on 1M x 1M, more than it saved.
# - random_page_cost 1.1: the warehouse is on SSD with its working set in memory; with the
#   default 4 (spinning disks) the planner read every stored statement sequentially instead of
#   the date's rows through the primary key.
PLANNER_SETTINGS = {"jit": "off", "random_page_cost": "1.1"}


def apply_planner_settings(cur: Any) -> None:
    """Set PLANNER_SETTINGS for the current transaction only."""
    for name, value in PLANNER_SETTINGS.items():
        cur.execute("SELECT set_config(%s, %s, true)", [name, value])


def reconcile(
    conn: Any,
    business_date: dt.date,
    tolerances: Tolerances | None = None,
    *,
    outcome_lag_business_days: int = DEFAULT_OUTCOME_LAG_BUSINESS_DAYS,
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT,
    scope: Scope | None = None,
) -> ReconSummary:
    """Replace ``reporting.recon_breaks`` for ``business_date`` (only ``scope``'s breaks, when
    given: one custodian's) in one transaction.

    ``conn`` is a psycopg 3 connection of the writer role, not in a transaction.
    """
    # Custodian statements exist only for business days: anything else is a wrong trigger.
    check_business_date(business_date, OPERATIONS_CALENDAR)
    tolerances = tolerances or Tolerances()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', %s, true)", [statement_timeout])
        apply_planner_settings(cur)
        # Two runs of the same date (a manual rerun next to a backfill) queue here instead of
        # interleaving their delete and insert.
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext('reporting.recon_breaks'), %s)",
            [business_date.toordinal()],
        )
        day = {"business_date": business_date}
        scoped = {**day, **(scope.parameters() if scope else WHOLE_DATE)}
        earliest_previous = calendars.add_business_days(
            business_date, -MAX_AGING_GAP_BUSINESS_DAYS, OPERATIONS_CALENDAR
        )
        cur.execute(
            read_sql("recon/previous_reconciled_date.sql"),
            {**day, "earliest_previous": earliest_previous},
        )
        previous_date = cur.fetchone()[0]
        gap = (
            calendars.business_days_between(previous_date, business_date, OPERATIONS_CALENDAR)
            if previous_date
            else 0
        )
        cur.execute(read_sql("recon/delete_breaks.sql"), scoped)
        cur.execute(
            read_sql("recon/insert_breaks.sql"),
            {
                **scoped,
                "due_after": calendars.add_business_days(
                    business_date, -outcome_lag_business_days, OPERATIONS_CALENDAR
                ),
                "recent_since": business_date - dt.timedelta(days=RECENT_DAYS),
                "due_by": business_date + dt.timedelta(days=RECENT_DAYS),
                "previous_date": previous_date,
                "business_days_since_previous": gap,
                "price_tolerance_bp": tolerances.price_bp,
                "quantity_tolerance": tolerances.quantity,
            },
        )
        summary = summarize(cur, business_date, previous_date, scope)
    return replace(
        summary, tolerances={"price_bp": str(tolerances.price_bp), "quantity": str(tolerances.quantity)}
    )


def summarize(
    cur: Any, business_date: dt.date, previous_date: dt.date | None = None, scope: Scope | None = None
) -> ReconSummary:
    """Counts per break type (every type present, zeros included) and the oldest open break
    (of the whole date only)."""
    day = {"business_date": business_date}
    cur.execute(read_sql("recon/summary.sql"), {**day, **(scope.parameters() if scope else WHOLE_DATE)})
    open_by_type = dict.fromkeys(BREAK_TYPES, 0)
    new_by_type = dict.fromkeys(BREAK_TYPES, 0)
    resolved_by_type = dict.fromkeys(BREAK_TYPES, 0)
    for break_type, open_breaks, new_breaks, resolved_breaks in cur.fetchall():
        open_by_type[break_type] = open_breaks
        new_by_type[break_type] = new_breaks
        resolved_by_type[break_type] = resolved_breaks
    oldest = None
    row = None
    if scope is None:
        cur.execute(read_sql("recon/oldest_open_breaks.sql"), {**day, "limit": 1})
        row = cur.fetchone()
    if row:
        columns = [column.name for column in cur.description]
        oldest = {
            key: value
            for key, value in zip(columns, row, strict=True)
            if key in ("trade_ref", "break_type", "first_seen_date", "age_business_days", "counterparty_id")
        }
    return ReconSummary(
        business_date=business_date,
        previous_date=previous_date,
        open_by_type=open_by_type,
        new_by_type=new_by_type,
        resolved_by_type=resolved_by_type,
        oldest_open_break=oldest,
    )
