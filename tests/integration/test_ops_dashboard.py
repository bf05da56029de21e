"""The operations dashboard plugin, served by the real api-server, reading the real warehouse."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
import requests

DAY = dt.date(2031, 1, 3)  # far from any seeded or demo date; removed again after the test


@pytest.fixture
def seeded_day(stack: dict[str, str]):
    rows = {
        "scores": [
            (
                DAY,
                f"TDASH{i:04d}",
                "settlement_fail_risk",
                "7",
                0.9 if i < 3 else 0.01,
                "high" if i < 3 else "low",
                "pytest",
                dt.datetime(2031, 1, 3, 23, tzinfo=dt.UTC),
            )
            for i in range(10)
        ],
    }
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"], autocommit=True) as conn:
        with conn.cursor().copy(
            "COPY ml.trade_scores (business_date, trade_id, model_name, model_version, score, risk_band,"
            " scoring_run_id, scored_at) FROM STDIN"
        ) as copy:
            for row in rows["scores"]:
                copy.write_row(row)
        conn.execute(
            """INSERT INTO reporting.recon_breaks (business_date, trade_ref, break_type, status,
                   first_seen_date, age_business_days, counterparty_id, notional)
               VALUES (%s, 'TDASH0001', 'quantity_mismatch', 'open', %s, 2, 'CP0001', 1000000)""",
            (DAY, DAY - dt.timedelta(days=2)),
        )
        conn.execute(
            """INSERT INTO reporting.alerts (rule_id, business_date, entity_key, severity, details,
                   first_raised_date, is_new)
               VALUES ('aged_breaks', %s, 'CP0001', 'high', '{"open": 1}', %s, true)""",
            (DAY, DAY),
        )
    yield DAY
    with psycopg.connect(stack["WAREHOUSE_OWNER_URL"], autocommit=True) as conn:
        conn.execute("DELETE FROM ml.trade_scores WHERE business_date = %s", (DAY,))
        conn.execute("DELETE FROM reporting.recon_breaks WHERE business_date = %s", (DAY,))
        conn.execute("DELETE FROM reporting.alerts WHERE business_date = %s", (DAY,))


def test_anonymous_requests_are_refused(stack: dict[str, str]) -> None:
    for path in ("/ops-dashboard/", "/ops-dashboard/api/summary"):
        response = requests.get(stack["AIRFLOW_API_URL"] + path, timeout=10)
        assert response.status_code == 401, path


def test_a_logged_in_user_sees_the_days_numbers(stack: dict[str, str], airflow_api, seeded_day) -> None:
    airflow_api._authorize()
    session = airflow_api._session
    url = stack["AIRFLOW_API_URL"] + "/ops-dashboard"
    summary = session.get(
        f"{url}/api/summary", params={"business_date": seeded_day.isoformat()}, timeout=30
    ).json()
    assert summary["business_date"] == "2031-01-03"
    assert summary["scoring"][-1]["scored"] == 10
    assert summary["scoring"][-1]["band_high"] == 3
    assert summary["open_breaks"] == 1
    assert summary["alerts"][0]["rule_id"] == "aged_breaks"
    page = session.get(f"{url}/", params={"business_date": seeded_day.isoformat()}, timeout=30)
    assert page.status_code == 200
    assert "quantity_mismatch" in page.text
    assert page.text.count("<svg") == 2


def test_the_dashboard_is_in_the_ui_navigation(airflow_api) -> None:
    plugins = airflow_api.request("GET", "/plugins")["plugins"]
    views = [view for plugin in plugins for view in plugin["external_views"]]
    assert any(view["href"] == "/ops-dashboard/" and view["destination"] == "nav" for view in views)
