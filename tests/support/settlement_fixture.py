"""Small hand-made Markets Operations rows for the model tests, with a known fail rule.

Not the project's data generator: a few thousand trades on weekdays of a year no other data
uses (2023), every id prefixed ``TST``, so the tests own and remove exactly their rows. Fails
follow a simple known rule (SSI mismatch, late confirmation, illiquid instrument and a
counterparty's hidden propensity raise the odds), so a model can learn them and the tests
can tell a good model from a crippled one.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from include.markets_ops.feed import sources
from include.markets_ops.services.sql_files import read_sql

PREFIX = "TST"
COUNTRIES = ("US", "GB", "DE")
MARKET_OF = {
    "US": ("XNYS", "USD", "DTC", 1),
    "GB": ("XLON", "GBP", "CREST", 2),
    "DE": ("XETR", "EUR", "Clearstream", 2),
}


@dataclass
class Fixture:
    start: dt.date
    business_days: int
    trades_per_day: int
    seed: int = 11
    days: list[dt.date] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    p_fail: dict[str, float] = field(default_factory=dict)

    @property
    def last_day(self) -> dt.date:
        return self.days[-1]

    def pending_on(self, day: dt.date) -> list[dict[str, Any]]:
        return [
            t
            for t in self.trades
            if t["business_date"] <= day < t["settle_date"] and t["status"] != "cancelled"
        ]


def weekdays(start: dt.date, count: int) -> list[dt.date]:
    days, current = [], start
    while len(days) < count:
        if current.weekday() < 5:
            days.append(current)
        current += dt.timedelta(days=1)
    return days


def add_weekdays(day: dt.date, count: int) -> dt.date:
    current = day
    while count:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            count -= 1
    return current


def counterparties() -> list[dict[str, Any]]:
    rng = random.Random(3)
    return [
        {
            "counterparty_id": f"{PREFIX}CP{i:02d}",
            "legal_name": f"Test Counterparty {i}",
            "lei": f"{PREFIX}LEI{i:013d}"[:20].ljust(20, "0"),
            "country_code": COUNTRIES[i % 3],
            "sector": ("bank", "broker_dealer", "asset_manager")[i % 3],
            "propensity": rng.gauss(0, 0.9),
        }
        for i in range(24)
    ]


def instruments() -> list[dict[str, Any]]:
    rows = []
    for i in range(30):
        country = COUNTRIES[i % 3]
        market, currency, location, cycle = MARKET_OF[country]
        rows.append(
            {
                "instrument_id": f"{country}{PREFIX}{i:07d}",
                "description": f"Test instrument {i}",
                "asset_class": ("equity", "corporate_bond", "government_bond")[i % 3],
                "market": market,
                "currency": currency,
                "settlement_location": location,
                "settlement_cycle_days": cycle,
                "liquidity_tier": 1 + (i // 3) % 3,
            }
        )
    return rows


def build(
    start: dt.date = dt.date(2023, 3, 1), business_days: int = 30, trades_per_day: int = 300, seed: int = 11
) -> Fixture:
    """Trades, outcomes reported on the settle date (a fail settles a day later), true p_fail."""
    rng = random.Random(seed)
    fixture = Fixture(start, business_days, trades_per_day, seed, days=weekdays(start, business_days))
    cps, instrs = counterparties(), instruments()
    for day_number, day in enumerate(fixture.days):
        for n in range(trades_per_day):
            cp, instrument = rng.choice(cps), rng.choice(instrs)
            ssi = rng.choices(("matched", "mismatched", "missing"), weights=(90, 7, 3))[0]
            confirmed_late = rng.random() < 0.15
            booked_at = dt.datetime.combine(day, dt.time(9), dt.UTC) + dt.timedelta(
                minutes=rng.randint(0, 480)
            )
            logit = (
                -4.2
                + 2.0 * (ssi != "matched")
                + 1.6 * confirmed_late
                + 0.7 * (instrument["liquidity_tier"] - 1)
                + cp["propensity"]
            )
            p_fail = 1 / (1 + math.exp(-logit))
            trade_id = f"{PREFIX}{day:%Y%m%d}{n:06d}"
            quantity = Decimal(rng.randint(1, 500) * 100)
            price = Decimal(rng.randint(1000, 20000)) / 100
            settle = add_weekdays(day, instrument["settlement_cycle_days"])
            failed = rng.random() < p_fail
            fixture.p_fail[trade_id] = p_fail
            fixture.trades.append(
                {
                    "trade_id": trade_id,
                    "business_date": day,
                    "trade_date": day,
                    "settle_date": settle,
                    "desk": ("rates", "equities", "credit")[n % 3],
                    "book": f"BOOK{n % 5}",
                    "instrument_id": instrument["instrument_id"],
                    "side": rng.choice(("BUY", "SELL")),
                    "quantity": quantity,
                    "price": price,
                    "notional": (quantity * price).quantize(Decimal("0.01")),
                    "currency": instrument["currency"],
                    "counterparty_id": cp["counterparty_id"],
                    "settlement_location": instrument["settlement_location"],
                    "ssi_status": ssi,
                    "booked_at": booked_at,
                    "confirmed_at": None if confirmed_late else booked_at + dt.timedelta(minutes=30),
                    "allocated_at": booked_at + dt.timedelta(minutes=10),
                    "status": "pending",
                    "_failed": failed,
                    "_day_number": day_number,
                }
            )
    for trade in fixture.trades:
        if trade["settle_date"] > fixture.last_day:
            continue
        trade["status"] = "failed" if trade["_failed"] else "settled"
        if trade["_failed"]:
            fixture.outcomes.append(
                _outcome(trade, trade["settle_date"], "failed", None, 0, "securities_shortage")
            )
            late = add_weekdays(trade["settle_date"], 1)
            if late <= fixture.last_day:
                fixture.outcomes.append(_outcome(trade, late, "settled", late, 1, None))
        else:
            fixture.outcomes.append(
                _outcome(trade, trade["settle_date"], "settled", trade["settle_date"], 0, None)
            )
    return fixture


def _outcome(  # noqa: PLR0917  (one outcome row's fields, in table order)
    trade: dict[str, Any],
    reported: dt.date,
    outcome: str,
    settled: dt.date | None,
    days_late: int,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "trade_id": trade["trade_id"],
        "business_date": reported,
        "outcome": outcome,
        "settled_date": settled,
        "days_late": days_late,
        "fail_reason": reason,
    }


# The warehouse columns, as the feed loads them.
TRADE_COLUMNS = sources.TRADES.columns
OUTCOME_COLUMNS = sources.SETTLEMENT_OUTCOMES.columns


def load(database_url: str, fixture: Fixture) -> None:
    """Insert the fixture (replacing an earlier copy) with COPY, as the pipelines' writer role."""
    import psycopg

    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        remove_rows(cur)
        cur.execute(
            "INSERT INTO ops.currencies VALUES ('USD', 'US dollar', 2), ('GBP', 'Pound sterling', 2), "
            "('EUR', 'Euro', 2) ON CONFLICT DO NOTHING"
        )
        with cur.copy(
            "COPY ops.counterparties (counterparty_id, legal_name, lei, country_code, sector) FROM STDIN"
        ) as copy:
            for cp in counterparties():
                copy.write_row(
                    (cp["counterparty_id"], cp["legal_name"], cp["lei"], cp["country_code"], cp["sector"])
                )
        columns = tuple(instruments()[0])
        with cur.copy(f"COPY ops.instruments ({', '.join(columns)}) FROM STDIN") as copy:
            for instrument in instruments():
                copy.write_row(tuple(instrument[c] for c in columns))
        with cur.copy(f"COPY ops.trades ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            for trade in fixture.trades:
                copy.write_row(tuple(trade[c] for c in TRADE_COLUMNS))
        with cur.copy(f"COPY ops.settlement_outcomes ({', '.join(OUTCOME_COLUMNS)}) FROM STDIN") as copy:
            for outcome in fixture.outcomes:
                copy.write_row(tuple(outcome[c] for c in OUTCOME_COLUMNS))
        # The counterparties' record per reporting date, as the feed's outcome load writes it.
        for day in sorted({outcome["business_date"] for outcome in fixture.outcomes}):
            for step in ("delete_counterparty_days.sql", "insert_counterparty_days.sql"):
                cur.execute(read_sql(f"feed/settlement_outcomes/{step}"), {"business_date": day})


def remove_rows(cur: Any) -> None:
    """Delete every row the fixture owns (ids start with TST)."""
    like = f"{PREFIX}%"
    cur.execute("DELETE FROM ml.trade_scores WHERE trade_id LIKE %s", (like,))
    cur.execute("DELETE FROM ops.settlement_outcomes WHERE trade_id LIKE %s", (like,))
    cur.execute("DELETE FROM ops.counterparty_settlement_days WHERE counterparty_id LIKE %s", (like,))
    cur.execute("DELETE FROM ops.trades WHERE trade_id LIKE %s", (like,))
    cur.execute("DELETE FROM ops.instruments WHERE instrument_id LIKE %s", (f"__{PREFIX}%",))
    cur.execute("DELETE FROM ops.counterparties WHERE counterparty_id LIKE %s", (like,))


def remove(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        remove_rows(cur)
