"""The Airflow UI in a real browser (Debian's headless Chromium driven by Playwright) against the
stack's api-server: log in through SimpleAuthManager's login page, see every DAG of dags/ in
the DAG list with no import error, and open the operations dashboard from the navigation for a
business date whose nightly pipeline ran in this module (feed, scoring, reconciliation, alerts:
manual runs through the REST API), its numbers checked against SQL as the read-only role and
its charts rendered; open the night's reconciliation report (report.html in S3) from its task's
extra link and see its chart and summary tables. Screenshots of the DAG list, the dashboard and
the report go to docs/images/ (README)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from settlement_model import contract

from devstack import settings
from include.markets_ops.reconciliation.report import prefix_for
from include.markets_ops.scoring.plan import SHARDS_VARIABLE
from include.markets_ops.services.topics import HIGH_RISK_TRADES
from include.markets_ops.warehouse.models import BREAK_TYPES
from tests.integration.pipeline_stack import (
    RECON_DAG,
    SCORING_DAG,
    s3_objects,
)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/bootstrap.sh); Playwright downloads none
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
TIMEOUT_MS = 30_000  # a loaded 2-core machine renders slowly
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def night(nightly_pipeline: dict[str, Any]) -> dict[str, Any]:
    """A business date the nightly pipeline ran for (tests/conftest.py), and its runs by DAG."""
    return nightly_pipeline


@pytest.fixture(scope="module")
def pipeline_date(night: dict[str, Any]) -> dt.date:
    day: dt.date = night["day"]
    return day


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page, stack: dict[str, str]) -> None:
    """Through the login form SimpleAuthManager shows an anonymous visitor."""
    base = stack["AIRFLOW_API_URL"]
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/auth/login?next=%2F")
    page.get_by_label("Username").fill(stack["AIRFLOW_USERNAME"])
    page.get_by_label("Password").fill(stack["AIRFLOW_PASSWORD"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")


def project_dag_ids() -> dict[str, str]:
    """DAG id -> file, for every DAG file in dags/ (each declares the DAG named after it)."""
    files = sorted(path for path in (REPO / "dags").glob("*.py") if not path.name.startswith("_"))
    for path in files:
        assert f"def {path.stem}(" in path.read_text(), f"{path.name} does not declare DAG {path.stem}"
    return {path.stem: path.name for path in files}


def test_log_in_and_see_every_project_dag_with_no_import_error(
    page: Page, stack: dict[str, str], airflow_api: Any, pipeline_date: dt.date
) -> None:
    # pipeline_date: the list (and its screenshot) shows the night's runs.
    with page.expect_response(lambda r: "/api/v2/importErrors" in r.url) as import_errors:
        log_in(page, stack)
    # The home page asks for the import errors and shows a "Dag Import Errors" badge if any.
    assert import_errors.value.ok
    assert import_errors.value.json()["total_entries"] == 0
    expect(page.get_by_text("Failed Dags")).to_be_visible()
    expect(page.get_by_text("Dag Import Error")).to_have_count(0)
    assert airflow_api.request("GET", "/importErrors")["total_entries"] == 0

    dags = project_dag_ids()
    page.get_by_role("link", name="Dags", exact=True).click()  # the navigation bar
    expect(page.get_by_text(f"{len(dags)} Dags")).to_be_visible()
    for dag_id, file_name in dags.items():
        expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
        assert airflow_api.request("GET", f"/dags/{dag_id}/details")["fileloc"].endswith(f"/dags/{file_name}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "dag-list.png")


def _dashboard_facts(stack: dict[str, str], day: dt.date) -> dict[str, Any]:
    """What the dashboard must show for ``day``, from the warehouse as the read-only role."""
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        pending, scored, high = reader.execute(
            """
            SELECT (SELECT count(*) FROM ops.trades
                    WHERE business_date <= %(day)s AND settle_date > %(day)s AND status <> 'cancelled'),
                   count(*), count(*) FILTER (WHERE risk_band = 'high')
            FROM ml.trade_scores WHERE business_date = %(day)s
            """,
            {"day": day},
        ).fetchone()
        open_breaks = reader.execute(
            "SELECT count(*) FROM reporting.recon_breaks WHERE business_date = %s AND status = 'open'", (day,)
        ).fetchone()[0]
        alerts, new_alerts = reader.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_new) FROM reporting.alerts WHERE business_date = %s",
            (day,),
        ).fetchone()
        champion = reader.execute(
            "SELECT candidate_version FROM ml.model_promotions WHERE model_name = 'settlement_fail_risk' "
            "AND decision IN ('promoted', 'bootstrapped', 'rolled_back') "
            "ORDER BY decided_at DESC, promotion_id DESC LIMIT 1"
        ).fetchone()[0]
    return {
        "pending": pending,
        "scored": scored,
        "high": high,
        "open_breaks": open_breaks,
        "alerts": alerts,
        "new_alerts": new_alerts,
        "champion": champion,
    }


def _laid_out_size(element: Locator) -> tuple[float, float]:
    """The element's rendered width and height. Measured in one evaluation in the page (which
    waits for the element), retried while the UI re-renders the dashboard's iframe: a
    ``bounding_box()`` taken at that moment is None (seen once in CI)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        try:
            width, height = element.evaluate(
                "e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; }"
            )
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise
        else:
            if (width and height) or time.monotonic() > deadline:
                return float(width), float(height)
        time.sleep(0.2)


def test_the_dashboard_shows_the_nights_numbers_and_charts(
    page: Page, stack: dict[str, str], pipeline_date: dt.date
) -> None:
    facts = _dashboard_facts(stack, pipeline_date)
    assert facts["scored"] == facts["pending"] > 5_000  # the pipeline really ran for the date
    assert facts["open_breaks"] > 0

    log_in(page, stack)
    page.get_by_role("link", name="Operations dashboard").click()
    expect(page).to_have_url(f"{stack['AIRFLOW_API_URL']}/plugin/ops-dashboard")
    board = page.frame_locator("iframe[title='Operations dashboard']")
    expect(board.get_by_role("heading", name="Markets Operations dashboard")).to_be_visible()
    # The date picker of the dashboard's form (its business_date query parameter).
    board.locator("input[name=business_date]").fill(pipeline_date.isoformat())
    board.get_by_role("button", name="Show").click()

    def tile(test_id: str) -> Any:
        return board.get_by_test_id(test_id).locator(".value")

    expect(tile("coverage")).to_have_text(f"{100.0 * facts['scored'] / facts['pending']:.1f}%")
    expect(tile("champion")).to_have_text(f"v{facts['champion']}")
    expect(tile("high-risk")).to_have_text(f"{facts['high']:,}")
    expect(tile("open-breaks")).to_have_text(f"{facts['open_breaks']:,}")
    expect(tile("alerts")).to_have_text(str(facts["alerts"]))
    expect(board.get_by_test_id("alerts").locator(".label")).to_contain_text(f"({facts['new_alerts']} new)")
    expect(board.get_by_test_id("alerts-table").locator("tr")).to_have_count(max(facts["alerts"], 1) + 1)

    # The charts: inline SVGs the browser laid out, with drawn marks.
    charts = board.locator("svg[role=img]")
    expect(charts).to_have_count(2)
    for index in range(2):
        chart = charts.nth(index)
        expect(chart).to_be_visible()
        width, height = _laid_out_size(chart)
        assert width > 200
        assert height > 100
    # ...drawn from the same numbers: the date's bar and point carry them in their tooltips.
    day = pipeline_date.isoformat()
    bands = board.locator("svg[aria-label='Pending trades by risk band']")
    expect(bands.locator("rect title", has_text=f"{day} high: {facts['high']:,}")).to_have_count(1)
    trend = board.locator("svg[aria-label='Open breaks, last 30 reconciled business dates']")
    expect(trend.locator("polyline")).to_have_count(1)
    expect(trend.locator("circle title", has_text=f"{day}: {facts['open_breaks']:,}")).to_have_count(1)
    # No element action here: the UI may re-render the dashboard's iframe at any moment (the
    # element handle of a scroll then detaches, seen in CI); the tiles are at the top anyway.
    page.screenshot(path=SCREENSHOTS / "ops-dashboard.png")


def _follow_extra_link(page: Page, task_instance_url: str, name: str) -> None:
    """Open the task instance's Details tab and click its extra link ``name``. The UI opens a
    link to the api-server's own origin (the dashboard's pages) in the same tab."""
    page.goto(task_instance_url)
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name=name, exact=True)
    expect(link).to_have_attribute("target", "_self")
    link.click()
    page.wait_for_url("**/ops-dashboard/**")


def test_the_extra_links_of_a_task_instance_open_the_runs_objects_and_messages(
    page: Page, stack: dict[str, str], night: dict[str, Any]
) -> None:
    day = night["day"]
    run_id = night["runs"][SCORING_DAG]["dag_run_id"]
    prefix = contract.scores_prefix(day)
    objects = sorted(s3_objects(stack, prefix))
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        high_risk = {
            row[0]
            for row in reader.execute(
                "SELECT trade_id FROM ml.trade_scores WHERE business_date = %s AND risk_band = 'high'", (day,)
            )
        }
    assert len(objects) == int(settings.variable(SHARDS_VARIABLE)) + 1  # a Parquet part per shard, manifest
    assert len(high_risk) >= 50  # more than the page shows (the world makes ~100 a day)

    log_in(page, stack)
    run_path = f"/dags/{SCORING_DAG}/runs/{quote(run_id, safe='')}"
    task_instance = f"{stack['AIRFLOW_API_URL']}{run_path}/tasks/write_manifest"

    _follow_extra_link(page, task_instance, "S3 output")
    expect(page.get_by_role("heading")).to_have_text(f"s3://{stack['S3_BUCKET']}/{prefix}")
    expect(page.get_by_text(f"{len(objects)} objects")).to_be_visible()
    for key in objects:
        expect(page.get_by_role("link", name=key, exact=True)).to_be_visible()

    _follow_extra_link(page, task_instance, "Kafka topic")
    expect(page.get_by_role("heading")).to_have_text(f"Kafka topic {HIGH_RISK_TRADES.name}")
    shown = 50  # the page shows the newest 50 of the date (a rerun republishes the same keys)
    expect(page.get_by_text(f"{shown} latest messages of business date {day}")).to_be_visible()
    keys = page.locator("table tr td:nth-child(3)").all_inner_texts()
    assert len(keys) == shown
    assert set(keys) <= high_risk  # every message shown is a high-risk trade of this run's date


def _open_breaks_by_type(stack: dict[str, str], day: dt.date) -> dict[str, int]:
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        rows = reader.execute(
            "SELECT break_type, count(*) FROM reporting.recon_breaks"
            " WHERE business_date = %s AND status = 'open' GROUP BY break_type",
            (day,),
        ).fetchall()
    return dict(rows)


def test_the_nights_reconciliation_report_opens_in_the_browser_with_its_chart_and_tables(
    page: Page, stack: dict[str, str], night: dict[str, Any]
) -> None:
    day = night["day"]
    open_by_type = _open_breaks_by_type(stack, day)
    assert sum(open_by_type.values()) > 0
    blocked: list[str] = []  # what the object route's Content-Security-Policy refused, if anything
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security" in message.text else None,
    )

    log_in(page, stack)
    run_id = night["runs"][RECON_DAG]["dag_run_id"]
    task_instance = (
        f"{stack['AIRFLOW_API_URL']}/dags/{RECON_DAG}/runs/{quote(run_id, safe='')}/tasks/publish_report"
    )
    _follow_extra_link(page, task_instance, "S3 output")
    folder = prefix_for(day)
    expect(page.get_by_role("heading")).to_have_text(f"s3://{stack['S3_BUCKET']}/{folder}")
    page.get_by_role("link", name=f"{folder}report.html", exact=True).click()

    expect(page).to_have_url(f"{stack['AIRFLOW_API_URL']}/ops-dashboard/s3/object/{folder}report.html")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Trade reconciliation \N{EM DASH} business date {day.isoformat()}"
    )
    # The chart: inline SVG laid out by the browser, a bar segment per break type and day, the
    # night's segments carrying the night's open breaks in their tooltips.
    chart = page.locator("svg[aria-label='Open breaks per business day']")
    expect(chart).to_be_visible()
    width, height = _laid_out_size(chart)
    assert width > 200
    assert height > 100
    assert chart.locator("rect title").count() >= len(open_by_type)
    for break_type, count in open_by_type.items():
        expect(
            chart.locator("rect title", has_text=f"{day.isoformat()} {break_type}: {count:,}")
        ).to_have_count(1)
    # The summary tables, by break type (the same open counts), age bucket and counterparty.
    by_type = page.locator("h2:text-is('By break type') + table")
    expect(by_type.locator("tbody tr")).to_have_count(len(BREAK_TYPES))
    for break_type in BREAK_TYPES:
        row = by_type.locator("tbody tr", has=page.locator(f"td:text-is('{break_type}')"))
        expect(row.locator("td").nth(1)).to_have_text(f"{open_by_type.get(break_type, 0):,}")
    for heading in ("By age (business days open)", "By counterparty"):
        table = page.locator(f"h2:text-is('{heading}') + table")
        expect(table).to_be_visible()
        expect(table.locator("tbody tr").first).not_to_have_text("none")
    # Its inline styles apply under the policy (the facts are a flex row) and nothing was refused.
    assert page.locator(".facts").evaluate("e => getComputedStyle(e).display") == "flex"
    assert blocked == []
    page.screenshot(path=SCREENSHOTS / "recon-report.png")  # the top: facts, chart, tables by type and age

    # The page's relative link downloads its neighbour in the same folder.
    with page.expect_download() as download:
        page.get_by_role("link", name="breaks.csv", exact=True).click()
    assert download.value.suggested_filename == "breaks.csv"
    assert download.value.url.endswith(f"/ops-dashboard/s3/object/{folder}breaks.csv")
