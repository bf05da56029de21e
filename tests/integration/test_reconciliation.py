"""Reconciliation on hand-made scenarios: every break type, the below-tolerance differences that
are not breaks, the open-trade population's edges, aging across three business days (over a
weekend and a holiday), rerun idempotency, and the report published to S3 and Kafka."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from include.markets_ops import calendars
from include.markets_ops.calendars import NotABusinessDateError
from include.markets_ops.reconciliation.breaks import Tolerances, reconcile
from include.markets_ops.reconciliation.report import (
    build_report,
    load_report_data,
    prefix_for,
    summary_event,
)
from include.markets_ops.services.s3 import MANIFEST_NAME, publish_folder
from tests.support.warehouse_scenarios import (
    DATE_RANGES,
    Confirmation,
    Outcome,
    Scenario,
    Trade,
    clear_dates,
    connect,
)

DAY = dt.date(2031, 3, 4)  # Tuesday
BREAK_COLUMNS = (
    "trade_ref, break_type, status, first_seen_date, age_business_days, resolved_date, "
    "counterparty_id, internal_value, custodian_value"
)


@pytest.fixture(scope="module")
def writer(stack: dict[str, str]):
    with connect(stack["POSTGRES_URL"]) as conn:
        for name in ("recon_scenarios", "recon_aging"):
            clear_dates(conn, *DATE_RANGES[name])
        yield conn
        for name in ("recon_scenarios", "recon_aging"):
            clear_dates(conn, *DATE_RANGES[name])


def breaks_of(
    conn: Any, day: dt.date, prefixes: tuple[str, ...] = ("RC-", "AGE-")
) -> dict[tuple[str, str], dict[str, Any]]:
    """The date's break rows of this module's trades, by (trade_ref, break_type). Rows of other
    data are left out: a fail loaded by the data generator and never settled is open on every
    later date. Summaries are checked against all the date's rows (summary_of)."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {BREAK_COLUMNS} FROM reporting.recon_breaks "
            "WHERE business_date = %s AND trade_ref LIKE ANY(%s) ORDER BY 1, 2",
            [day, [f"{prefix}%" for prefix in prefixes]],
        )
        columns = [c.name for c in cur.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    conn.commit()
    return {(r["trade_ref"], r["break_type"]): r for r in rows}


def summary_of(conn: Any, day: dt.date) -> dict[str, Any]:
    """Counts by status and type, and the oldest open break, straight from all the date's rows."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT status, break_type, count(*) FROM reporting.recon_breaks "
            "WHERE business_date = %s GROUP BY 1, 2",
            [day],
        )
        counts = {(status, kind): n for status, kind, n in cur.fetchall()}
        cur.execute(
            "SELECT trade_ref, break_type FROM reporting.recon_breaks "
            "WHERE business_date = %s AND status = 'open' "
            "ORDER BY age_business_days DESC, first_seen_date, trade_ref, break_type LIMIT 1",
            [day],
        )
        oldest = cur.fetchone()
    conn.commit()
    return {"counts": counts, "oldest": oldest}


def by_type(counts: dict[tuple[str, str], int], status: str) -> dict[str, int]:
    return {kind: n for (s, kind), n in counts.items() if s == status}


@pytest.fixture(scope="module")
def break_scenario(writer: Any) -> None:
    """One trade per case on DAY; settle dates after DAY unless the case says otherwise."""
    day, settle = DAY, DAY + dt.timedelta(days=1)
    previous_day = calendars.previous_business_day(day, "XNYS")
    old_settle = day - dt.timedelta(days=20)
    t = {
        "matched": Trade("RC-MATCHED", day, settle),
        "half_bp": Trade("RC-HALFBP", day, settle, price=Decimal("200")),
        "one_bp": Trade("RC-ONEBP", day, settle, price=Decimal("100")),
        "price": Trade("RC-PRICE", day, settle, price=Decimal("100")),
        "quantity": Trade("RC-QTY", day, settle),
        "settle": Trade("RC-SETTLE", day, settle),
        "counterparty": Trade("RC-CPTY", day, settle),
        "two_fields": Trade("RC-TWO", day, settle),
        "missing_at_custodian": Trade("RC-MISSCUST", day, settle),
        "cancelled_listed": Trade("RC-CXL-LISTED", day, settle, status="cancelled"),
        "cancelled_unlisted": Trade("RC-CXL", day, settle, status="cancelled"),
        "settled_before_listed": Trade("RC-SETB-LISTED", previous_day, previous_day, status="settled"),
        "settled_before_unlisted": Trade("RC-SETB", previous_day, previous_day, status="settled"),
        "settles_today_listed": Trade("RC-SETD-LISTED", previous_day, day, status="settled"),
        "settles_today_unlisted": Trade("RC-SETD", previous_day, day, status="settled"),
        "fails_today": Trade("RC-FAILD", previous_day, day, status="failed"),
        "booked_later_listed": Trade("RC-LATER", day + dt.timedelta(days=1), settle + dt.timedelta(days=1)),
        "failed_long_ago": Trade("RC-FAILED-OLD", old_settle, old_settle, status="failed"),
        "failed_long_ago_unlisted": Trade("RC-FAILED-OLD2", old_settle, old_settle, status="failed"),
        # Due the previous business day and no outcome reported: a gap in the outcome feed, not
        # an open trade (insert_breaks.sql), so its absence from the statement is no break.
        "due_without_outcome": Trade("RC-NO-OUTCOME", previous_day, previous_day),
        # Failed 43 days before and never settled: the buy-in process's, out of the match.
        "failed_too_long_ago": Trade(
            "RC-FAIL-ANCIENT", day - dt.timedelta(days=43), day - dt.timedelta(days=43)
        ),
    }
    c = t
    confirmations = [
        c["matched"].confirmation(day),
        c["half_bp"].confirmation(day, price=Decimal("200.01")),  # 0.5 bp: below tolerance
        c["one_bp"].confirmation(day, price=Decimal("100.01")),  # exactly 1 bp: not beyond it
        c["price"].confirmation(day, price=Decimal("100.015")),  # 1.5 bp
        c["quantity"].confirmation(day, quantity=Decimal("999")),
        c["settle"].confirmation(day, settle_date=settle + dt.timedelta(days=1)),
        c["counterparty"].confirmation(day, counterparty_id="TCP-BETA"),
        c["two_fields"].confirmation(day, quantity=Decimal("1001"), counterparty_id="TCP-GAMMA"),
        c["cancelled_listed"].confirmation(day),
        c["settled_before_listed"].confirmation(day),
        c["settles_today_listed"].confirmation(day),
        c["booked_later_listed"].confirmation(day),
        c["failed_long_ago"].confirmation(day),
        c["fails_today"].confirmation(day),  # failed, so still open: matched
        c["failed_too_long_ago"].confirmation(day),
        Confirmation(day, "RC-UNKNOWN", Decimal("10"), Decimal("50"), settle, "TCP-DELTA"),
    ]
    outcomes = [
        Outcome("RC-SETB-LISTED", previous_day, "settled"),
        Outcome("RC-SETB", previous_day, "settled"),
        Outcome("RC-SETD-LISTED", day, "settled"),
        Outcome("RC-SETD", day, "settled"),
        Outcome("RC-FAILD", day, "failed", "insufficient_securities"),
        Outcome("RC-FAIL-ANCIENT", day - dt.timedelta(days=43), "failed", "insufficient_securities"),
        Outcome("RC-FAILED-OLD", old_settle, "failed", "insufficient_securities"),
        Outcome("RC-FAILED-OLD2", old_settle, "failed", "insufficient_securities"),
        # They settle the day after: later dates (and other tests) no longer hold them open.
        Outcome("RC-FAILED-OLD", DAY + dt.timedelta(days=1), "settled", days_late=1),
        Outcome("RC-FAILED-OLD2", DAY + dt.timedelta(days=1), "settled", days_late=1),
        Outcome("RC-FAILD", DAY + dt.timedelta(days=1), "settled", days_late=1),
        Outcome("RC-FAIL-ANCIENT", DAY + dt.timedelta(days=1), "settled", days_late=30),
    ]
    Scenario(trades=list(t.values()), confirmations=confirmations, outcomes=outcomes).load(writer)


EXPECTED_BREAKS = {
    ("RC-PRICE", "price_mismatch"),
    ("RC-QTY", "quantity_mismatch"),
    ("RC-SETTLE", "settle_date_mismatch"),
    ("RC-CPTY", "counterparty_mismatch"),
    ("RC-TWO", "quantity_mismatch"),
    ("RC-TWO", "counterparty_mismatch"),
    ("RC-MISSCUST", "missing_at_custodian"),
    ("RC-UNKNOWN", "missing_internal"),
    # The custodian still lists trades the bank no longer (or not yet) holds open.
    ("RC-CXL-LISTED", "missing_internal"),
    ("RC-SETB-LISTED", "missing_internal"),
    ("RC-LATER", "missing_internal"),
    # Settled on the statement date: off that date's statement, but the custodian still lists it.
    ("RC-SETD-LISTED", "missing_internal"),
    # Failed 20 days ago and not settled since: still open.
    ("RC-FAILED-OLD2", "missing_at_custodian"),
    # Failed more than 31 days ago: out of the match, so the custodian's line stays visible.
    ("RC-FAIL-ANCIENT", "missing_internal"),
}


def test_every_break_type_is_found_and_nothing_else(writer: Any, break_scenario: None) -> None:
    summary = reconcile(writer, DAY)
    found = breaks_of(writer, DAY)
    assert set(found) == EXPECTED_BREAKS
    assert all(row["status"] == "open" and row["age_business_days"] == 0 for row in found.values())
    counted = summary_of(writer, DAY)["counts"]
    assert {k: n for k, n in summary.open_by_type.items() if n} == by_type(counted, "open")
    assert summary.open_breaks == sum(by_type(counted, "open").values())


def test_a_break_shows_both_sides_values(writer: Any, break_scenario: None) -> None:
    reconcile(writer, DAY)
    found = breaks_of(writer, DAY)
    price = found[("RC-PRICE", "price_mismatch")]
    assert (price["internal_value"], price["custodian_value"]) == ("100.00000000", "100.01500000")
    counterparty = found[("RC-TWO", "counterparty_mismatch")]
    assert (counterparty["internal_value"], counterparty["custodian_value"]) == ("TCP-ALPHA", "TCP-GAMMA")
    assert counterparty["counterparty_id"] == "TCP-ALPHA"  # the bank's side
    unknown = found[("RC-UNKNOWN", "missing_internal")]
    assert unknown["counterparty_id"] == "TCP-DELTA"  # only the custodian knows it
    assert unknown["internal_value"] is None


def test_tolerances_are_parameters(writer: Any, break_scenario: None) -> None:
    reconcile(writer, DAY, Tolerances(price_bp=Decimal("2"), quantity=Decimal("1")))
    found = set(breaks_of(writer, DAY))
    assert ("RC-PRICE", "price_mismatch") not in found
    assert ("RC-TWO", "quantity_mismatch") not in found  # 1 unit: tolerated now
    assert ("RC-QTY", "quantity_mismatch") not in found
    reconcile(writer, DAY, Tolerances(price_bp=Decimal("0.4")))
    found = set(breaks_of(writer, DAY))
    assert {("RC-HALFBP", "price_mismatch"), ("RC-ONEBP", "price_mismatch")} <= found
    reconcile(writer, DAY)
    assert set(breaks_of(writer, DAY)) == EXPECTED_BREAKS


def test_a_rerun_gives_the_same_rows(writer: Any, break_scenario: None) -> None:
    reconcile(writer, DAY)
    first = breaks_of(writer, DAY)
    reconcile(writer, DAY)
    assert breaks_of(writer, DAY) == first


def test_a_weekend_or_holiday_is_refused(writer: Any) -> None:
    with pytest.raises(NotABusinessDateError, match=r"not a XNYS business day, e.g. 2031-03-08 \(Saturday\)"):
        reconcile(writer, dt.date(2031, 3, 8))
    with pytest.raises(NotABusinessDateError):
        reconcile(writer, dt.date(2031, 5, 26))  # Memorial Day


# --------------------------------------------------------------------------- aging

# Friday, then Tuesday after the weekend and Memorial Day (Monday 26th), then Wednesday.
DAY1, DAY2, DAY3 = dt.date(2031, 5, 23), dt.date(2031, 5, 27), dt.date(2031, 5, 28)


@pytest.fixture(scope="module")
def aging_scenario(writer: Any) -> None:
    settle = dt.date(2031, 6, 6)
    t1, t2, t3 = (Trade(f"AGE-{n}", DAY1, settle) for n in (1, 2, 3))
    confirmations = [
        # DAY1: T1 quantity wrong, T2 right, T3 missing.
        t1.confirmation(DAY1, quantity=Decimal("900")),
        t2.confirmation(DAY1),
        # DAY2: T1 still wrong, T2's price now wrong, T3 arrived.
        t1.confirmation(DAY2, quantity=Decimal("900")),
        t2.confirmation(DAY2, price=Decimal("101")),
        t3.confirmation(DAY2),
        # DAY3: T1 fixed, T2 still wrong.
        t1.confirmation(DAY3),
        t2.confirmation(DAY3, price=Decimal("101")),
        t3.confirmation(DAY3),
    ]
    Scenario(trades=[t1, t2, t3], confirmations=confirmations).load(writer)


def _ages(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        key: (r["status"], r["first_seen_date"], r["age_business_days"], r["resolved_date"])
        for key, r in rows.items()
    }


def test_breaks_age_in_business_days_and_resolve(writer: Any, aging_scenario: None) -> None:
    reconcile(writer, DAY1)
    assert _ages(breaks_of(writer, DAY1)) == {
        ("AGE-1", "quantity_mismatch"): ("open", DAY1, 0, None),
        ("AGE-3", "missing_at_custodian"): ("open", DAY1, 0, None),
    }
    summary2 = reconcile(writer, DAY2)
    assert summary2.previous_date == DAY1
    assert _ages(breaks_of(writer, DAY2)) == {
        ("AGE-1", "quantity_mismatch"): ("open", DAY1, 1, None),  # 1 business day over 4 calendar days
        ("AGE-2", "price_mismatch"): ("open", DAY2, 0, None),
        ("AGE-3", "missing_at_custodian"): ("resolved", DAY1, 1, DAY2),
    }
    summary3 = reconcile(writer, DAY3)
    assert _ages(breaks_of(writer, DAY3)) == {
        ("AGE-1", "quantity_mismatch"): ("resolved", DAY1, 2, DAY3),
        ("AGE-2", "price_mismatch"): ("open", DAY2, 1, None),
    }
    counted = summary_of(writer, DAY3)
    assert {k: n for k, n in summary3.resolved_by_type.items() if n} == by_type(counted["counts"], "resolved")
    assert {k: n for k, n in summary3.open_by_type.items() if n} == by_type(counted["counts"], "open")
    assert summary3.oldest_open_break is not None
    oldest = summary3.oldest_open_break
    assert (oldest["trade_ref"], oldest["break_type"]) == counted["oldest"]


def test_a_trade_due_on_a_us_holiday_is_open_until_its_settlement_is_reported(writer: Any) -> None:
    # Due Monday 26 May 2031 (Memorial Day: no US business day, a UK one), reconciled on DAY2.
    holiday = dt.date(2031, 5, 26)
    pending, settled, listed = (
        Trade(f"HOL-{n}", dt.date(2031, 5, 22), holiday) for n in ("PENDING", "SETTLED", "LISTED")
    )
    Scenario(
        trades=[pending, settled, listed],
        confirmations=[t.confirmation(DAY1) for t in (pending, settled, listed)]
        + [listed.confirmation(DAY2)],
        outcomes=[Outcome("HOL-SETTLED", holiday, "settled"), Outcome("HOL-LISTED", holiday, "settled")],
    ).load(writer)
    reconcile(writer, DAY1)
    reconcile(writer, DAY2)
    assert _ages(breaks_of(writer, DAY2, ("HOL-",))) == {
        # No outcome reported yet: still open, and the custodian no longer lists it.
        ("HOL-PENDING", "missing_at_custodian"): ("open", DAY2, 0, None),
        # Settled on the holiday: the bank no longer holds it open, the custodian still lists it.
        ("HOL-LISTED", "missing_internal"): ("open", DAY2, 0, None),
    }


def test_rerunning_an_earlier_date_changes_nothing(writer: Any, aging_scenario: None) -> None:
    for day in (DAY1, DAY2, DAY3):
        reconcile(writer, day)
    before = {day: breaks_of(writer, day) for day in (DAY1, DAY2, DAY3)}
    reconcile(writer, DAY2)  # a backfill of the middle date
    reconcile(writer, DAY3)
    assert {day: breaks_of(writer, day) for day in (DAY1, DAY2, DAY3)} == before


# --------------------------------------------------------------------------- report, S3, Kafka


@pytest.fixture
def published(writer: Any, aging_scenario: None, stack: dict[str, str], tmp_path: Path):
    from include.markets_ops.airflow import connections

    for day in (DAY1, DAY2, DAY3):
        summary = reconcile(writer, day).as_dict()
    client = connections.s3_client()

    def publish(folder: Path) -> list[str]:
        folder.mkdir()
        objects, _ = build_report(writer, DAY3, summary, folder)
        return publish_folder(client, stack["S3_BUCKET"], prefix_for(DAY3), objects, summary)

    return client, summary, publish


def _object_digests(client: Any, bucket: str, keys: list[str]) -> dict[str, str]:
    return {
        key: hashlib.sha256(client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        for key in keys
    }


def test_the_report_is_published_with_the_manifest_last_and_a_rerun_writes_the_same_bytes(
    writer: Any, published: Any, stack: dict[str, str], tmp_path: Path
) -> None:
    import json

    import pyarrow.parquet as pq

    client, _, publish = published
    bucket = stack["S3_BUCKET"]
    keys = publish(tmp_path / "first")
    prefix = "reports/recon/business_date=2031-05-28/"
    assert keys == [
        f"{prefix}{name}" for name in ("breaks.parquet", "breaks.csv", "report.html", MANIFEST_NAME)
    ]
    first = _object_digests(client, bucket, keys)
    assert publish(tmp_path / "second") == keys
    assert _object_digests(client, bucket, keys) == first

    manifest = json.loads(client.get_object(Bucket=bucket, Key=keys[-1])["Body"].read())
    assert {o["key"]: o["sha256"] for o in manifest["objects"]} == {k: first[k] for k in keys[:-1]}
    table = pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=keys[0])["Body"].read()))
    exported = set(zip(table["trade_ref"].to_pylist(), table["status"].to_pylist(), strict=True))
    assert {("AGE-1", "resolved"), ("AGE-2", "open")} <= exported
    assert table.num_rows == sum(summary_of(writer, DAY3)["counts"].values())
    csv_text = client.get_object(Bucket=bucket, Key=keys[1])["Body"].read().decode()
    assert csv_text.splitlines()[0].replace('"', "").startswith("business_date,trade_ref,break_type,status")
    page = client.get_object(Bucket=bucket, Key=keys[2])["Body"].read().decode()
    assert "<svg" in page
    assert "AGE-2" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_the_chart_counts_open_breaks_of_the_last_30_business_days(writer: Any, aging_scenario: None) -> None:
    for day in (DAY1, DAY2, DAY3):
        summary = reconcile(writer, day).as_dict()
    history = dict(load_report_data(writer, DAY3, summary).history)
    assert len(history) == 30
    assert max(history) == DAY3
    for day in (DAY1, DAY2, DAY3):
        open_counts = by_type(summary_of(writer, day)["counts"], "open")
        assert {k: n for k, n in history[day].items() if n} == open_counts
    assert history[DAY3]["price_mismatch"] >= 1  # AGE-2


def test_the_summary_event_is_keyed_by_date_and_the_same_on_a_rerun(
    writer: Any, aging_scenario: None, stack: dict[str, str]
) -> None:
    from devstack.stack_env import kafka_client_of
    from include.markets_ops.services.kafka import publish
    from include.markets_ops.services.topics import RECON_SUMMARY
    from tests.support.kafka_messages import read_topic

    config = kafka_client_of(stack, "pipelines")
    for day in (DAY1, DAY2, DAY3):
        summary = reconcile(writer, day).as_dict()
    key = DAY3.isoformat()
    before = read_topic(kafka_client_of(stack, "reader"), RECON_SUMMARY.name, lambda k: k == key)
    event = summary_event(summary, stack["S3_BUCKET"], ["reports/recon/business_date=2031-05-28/report.html"])
    for _ in range(2):
        assert publish(config, RECON_SUMMARY.name, [(key, event)]) == 1
    after = read_topic(kafka_client_of(stack, "reader"), RECON_SUMMARY.name, lambda k: k == key)
    new = after[len(before) :]
    assert len(new) == 2
    assert new[0] == new[1]
    value = new[0][1]
    assert value["open_by_type"] == summary["open_by_type"]
    assert value["oldest_open_break"] == summary["oldest_open_break"]
    assert value["business_date"] == key
    assert value["report"] == {
        "report.html": f"s3://{stack['S3_BUCKET']}/reports/recon/business_date=2031-05-28/report.html"
    }
