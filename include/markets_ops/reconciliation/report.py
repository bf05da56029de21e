"""The nightly reconciliation report: the breaks as Parquet and CSV, and a self-contained HTML page.

Everything is read from ``reporting.recon_breaks`` (read-only role) and written to a local
folder, then published to S3 under ``reports/recon/business_date=YYYY-MM-DD/`` with the
manifest last (services/s3.py). The page needs no network: its chart is inline SVG. Contents are
deterministic (no clock, stable orders), so a rerun writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR
from include.markets_ops.services.s3 import ReportObject
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.warehouse.models import BREAK_TYPES

PREFIX_TEMPLATE = "reports/recon/business_date={business_date}/"
CHART_BUSINESS_DAYS = 30
EXPORT_BATCH_ROWS = 50_000
TOP_COUNTERPARTIES = 25
OLDEST_BREAKS_LISTED = 50

# One colour per break type (colour-blind-safe Okabe-Ito palette).
BREAK_COLOURS = dict(
    zip(BREAK_TYPES, ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"), strict=True)
)


def prefix_for(business_date: dt.date) -> str:
    return PREFIX_TEMPLATE.format(business_date=business_date.isoformat())


def export_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("business_date", pa.date32()),
            ("trade_ref", pa.string()),
            ("break_type", pa.string()),
            ("status", pa.string()),
            ("first_seen_date", pa.date32()),
            ("age_business_days", pa.int16()),
            ("resolved_date", pa.date32()),
            ("counterparty_id", pa.string()),
            ("instrument_id", pa.string()),
            ("internal_value", pa.string()),
            ("custodian_value", pa.string()),
            ("notional", pa.decimal128(22, 2)),
        ]
    )


def export_breaks(conn: Any, business_date: dt.date, parquet_path: Path, csv_path: Path) -> int:
    """Stream the date's breaks into Parquet and CSV, in batches (memory stays bounded)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    schema = export_schema()
    rows_written = 0
    with (
        conn.transaction(),
        conn.cursor(name="recon_breaks_export") as cur,
        pq.ParquetWriter(parquet_path, schema, compression="zstd") as parquet,
        pa_csv.CSVWriter(csv_path, schema) as csv,
    ):
        cur.itersize = EXPORT_BATCH_ROWS
        cur.execute(read_sql("recon/breaks_export.sql"), {"business_date": business_date})
        while rows := cur.fetchmany(EXPORT_BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            batch = pa.record_batch(
                [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)],
                schema=schema,
            )
            parquet.write_batch(batch)
            csv.write_batch(batch)
            rows_written += len(rows)
        if rows_written == 0:
            # An empty day still gets files with the columns, so readers need no special case.
            empty = pa.table({f.name: pa.array([], type=f.type) for f in schema}, schema=schema)
            parquet.write_table(empty)
            csv.write_table(empty)
    return rows_written


@dataclass
class ReportData:
    business_date: dt.date
    summary: dict[str, Any]
    by_counterparty: list[dict[str, Any]] = field(default_factory=list)
    by_age_bucket: list[dict[str, Any]] = field(default_factory=list)
    history: list[tuple[dt.date, dict[str, int]]] = field(default_factory=list)
    oldest_breaks: list[dict[str, Any]] = field(default_factory=list)
    export_rows: int = 0


def _records(cur: Any) -> list[dict[str, Any]]:
    columns = [column.name for column in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def chart_days(business_date: dt.date) -> list[dt.date]:
    """The last CHART_BUSINESS_DAYS operations business days, ending with the business date."""
    first = calendars.add_business_days(business_date, -(CHART_BUSINESS_DAYS - 1), OPERATIONS_CALENDAR)
    return list(calendars.business_days(first, business_date, OPERATIONS_CALENDAR))


def load_report_data(conn: Any, business_date: dt.date, summary: dict[str, Any]) -> ReportData:
    day = {"business_date": business_date}
    days = chart_days(business_date)
    data = ReportData(business_date=business_date, summary=summary)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(read_sql("recon/open_by_counterparty.sql"), day)
        data.by_counterparty = _records(cur)
        cur.execute(read_sql("recon/open_by_age_bucket.sql"), day)
        data.by_age_bucket = _records(cur)
        cur.execute(read_sql("recon/open_history.sql"), {**day, "first_date": days[0]})
        counts: dict[dt.date, dict[str, int]] = {d: dict.fromkeys(BREAK_TYPES, 0) for d in days}
        for history_date, break_type, open_breaks in cur.fetchall():
            if history_date in counts:
                counts[history_date][break_type] = open_breaks
        data.history = sorted(counts.items())
        cur.execute(read_sql("recon/oldest_open_breaks.sql"), {**day, "limit": OLDEST_BREAKS_LISTED})
        data.oldest_breaks = _records(cur)
    return data


def build_report(
    conn: Any, business_date: dt.date, summary: dict[str, Any], folder: Path
) -> tuple[list[ReportObject], ReportData]:
    """Write breaks.parquet, breaks.csv and report.html into ``folder``."""
    parquet_path, csv_path, html_path = (
        folder / "breaks.parquet",
        folder / "breaks.csv",
        folder / "report.html",
    )
    rows = export_breaks(conn, business_date, parquet_path, csv_path)
    data = load_report_data(conn, business_date, summary)
    data.export_rows = rows
    html_path.write_text(render_html(data), encoding="utf-8")
    objects = [
        ReportObject("breaks.parquet", parquet_path, "application/vnd.apache.parquet"),
        ReportObject("breaks.csv", csv_path, "text/csv; charset=utf-8"),
        ReportObject("report.html", html_path, "text/html; charset=utf-8"),
    ]
    return objects, data


# ---------------------------------------------------------------------------- HTML


def _e(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric_from: int = 1) -> str:
    head = "".join(
        f'<th class="{"num" if i >= numeric_from else ""}">{html.escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i >= numeric_from else ""}">{_e(v)}</td>' for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="empty">none</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nice_step(maximum: int, ticks: int = 5) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving at most ``ticks`` ticks."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return int(multiple * magnitude)
    return int(10 * magnitude)


def svg_chart(history: list[tuple[dt.date, dict[str, int]]], width: int = 960, height: int = 320) -> str:
    """Open breaks per business day, stacked by break type, as inline SVG."""
    left, right, top, bottom = 56, 16, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(counts.values()) for _, counts in history]
    step = _nice_step(max(totals, default=0))
    y_max = max(step, math.ceil(max(totals, default=0) / step) * step)
    slot = plot_w / max(len(history), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Open breaks per business day">'
    ]
    for tick in range(0, y_max + 1, step):
        y = top + plot_h - plot_h * tick / y_max
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick:,}</text>'
        )
    for index, (day, counts) in enumerate(history):
        x = left + index * slot + (slot - bar_w) / 2
        base = 0
        for break_type in BREAK_TYPES:
            count = counts.get(break_type, 0)
            if not count:
                continue
            y = top + plot_h - plot_h * (base + count) / y_max
            h = plot_h * count / y_max
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{BREAK_COLOURS[break_type]}">'
                f"<title>{day.isoformat()} {break_type}: {count:,}</title></rect>"
            )
            base += count
        if index % 5 == 0 or index == len(history) - 1:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="11">{day.strftime("%m-%d")}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#333"/>'
    )
    legend_x = left
    for break_type in BREAK_TYPES:
        parts.append(
            f'<rect x="{legend_x}" y="{height - 22}" width="12" height="12" '
            f'fill="{BREAK_COLOURS[break_type]}"/>'
            f'<text x="{legend_x + 16}" y="{height - 12}" font-size="11">{break_type}</text>'
        )
        legend_x += 20 + 7 * len(break_type)
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body { font-family: 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.facts { display: flex; gap: 24px; flex-wrap: wrap; margin: 12px 0; }
.fact { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; }
.fact b { display: block; font-size: 20px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 6px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; }
th { background: #f5f5f5; } .num { text-align: right; } .empty { color: #888; }
.note { color: #555; font-size: 12px; }
"""


def render_html(data: ReportData) -> str:
    s = data.summary
    day = data.business_date.isoformat()
    oldest = s.get("oldest_open_break") or {}
    oldest_text = (
        f"{oldest['trade_ref']} {oldest['break_type']}, {oldest['age_business_days']} business days "
        f"(since {oldest['first_seen_date']})"
        if oldest
        else "none"
    )
    tolerances = s.get("tolerances") or {}
    by_type_rows = [
        (t, s["open_by_type"].get(t, 0), s["new_by_type"].get(t, 0), s["resolved_by_type"].get(t, 0))
        for t in BREAK_TYPES
    ]
    counterparties = data.by_counterparty[:TOP_COUNTERPARTIES]
    others = data.by_counterparty[TOP_COUNTERPARTIES:]
    counterparty_rows = [
        (
            c["counterparty_id"],
            c["open_breaks"],
            c["new_breaks"],
            c["oldest_age_business_days"],
            c["notional"],
        )
        for c in counterparties
    ]
    if others:
        counterparty_rows.append(
            (
                f"{len(others)} other counterparties",
                sum(c["open_breaks"] for c in others),
                sum(c["new_breaks"] for c in others),
                max(c["oldest_age_business_days"] for c in others),
                sum((c["notional"] for c in others), Decimal(0)),
            )
        )
    age_rows = [(a["age_bucket"], a["open_breaks"], a["notional"]) for a in data.by_age_bucket]
    oldest_rows = [
        (
            b["trade_ref"],
            b["break_type"],
            b["counterparty_id"],
            b["first_seen_date"],
            b["age_business_days"],
            b["internal_value"],
            b["custodian_value"],
            b["notional"],
        )
        for b in data.oldest_breaks
    ]
    first_day = data.history[0][0].isoformat() if data.history else day
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Trade reconciliation {day}</title>
<style>{STYLE}</style></head>
<body>
<h1>Trade reconciliation &mdash; business date {day}</h1>
<p class="note">The bank's open trades (ops.trades) against the custodians' statement of the day
(ops.custodian_confirmations). Tolerances: price {_e(tolerances.get("price_bp", "?"))} bp,
quantity {_e(tolerances.get("quantity", "?"))}. Previous reconciled date:
{_e(s.get("previous_date") or "none")}.</p>
<div class="facts">
<div class="fact">open breaks<b>{_e(s["open_breaks"])}</b></div>
<div class="fact">new today<b>{_e(s["new_breaks"])}</b></div>
<div class="fact">resolved today<b>{_e(s["resolved_breaks"])}</b></div>
<div class="fact">oldest open break<b style="font-size:14px">{_e(oldest_text)}</b></div>
</div>
<h2>Open breaks over the last {len(data.history)} business days ({first_day} to {day})</h2>
{svg_chart(data.history)}
<h2>By break type</h2>
{_table(("break type", "open", "new today", "resolved today"), by_type_rows)}
<h2>By age (business days open)</h2>
{_table(("age", "open breaks", "notional"), age_rows)}
<h2>By counterparty</h2>
{
        _table(
            ("counterparty", "open breaks", "new today", "oldest (business days)", "notional"),
            counterparty_rows,
        )
    }
<h2>The {len(oldest_rows)} oldest open breaks</h2>
{
        _table(
            ("trade ref", "break type", "counterparty", "first seen", "age", "bank", "custodian", "notional"),
            oldest_rows,
            numeric_from=4,
        )
    }
<p class="note">All {_e(data.export_rows)} break rows of the day (open and resolved):
<a href="breaks.csv">breaks.csv</a>, <a href="breaks.parquet">breaks.parquet</a>, in this folder.</p>
</body></html>
"""


def summary_event(summary: dict[str, Any], bucket: str, keys: list[str]) -> dict[str, Any]:
    """The Kafka ``ops.recon.summary`` value: counts by type, the oldest break, where the report is."""
    return {
        "schema_version": 1,
        "business_date": summary["business_date"],
        "previous_date": summary.get("previous_date"),
        "open_breaks": summary["open_breaks"],
        "new_breaks": summary["new_breaks"],
        "resolved_breaks": summary["resolved_breaks"],
        "open_by_type": summary["open_by_type"],
        "new_by_type": summary["new_by_type"],
        "resolved_by_type": summary["resolved_by_type"],
        "oldest_open_break": summary.get("oldest_open_break"),
        "report": {key.rsplit("/", 1)[-1]: f"s3://{bucket}/{key}" for key in keys},
    }
