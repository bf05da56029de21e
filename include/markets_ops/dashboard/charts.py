"""Small, dependency-free SVG charts for pages that must render with no network (no CDN, no JS)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2f6f9f", "#e0a030", "#c0392b", "#7f8c8d", "#27ae60", "#8e44ad")


def stacked_bars(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    title: str,
    width: int = 640,
    height: int = 220,
) -> str:
    """Vertical stacked bars, one per label; ``series`` maps a legend name to one value per label."""
    margin_left, margin_bottom, margin_top = 48, 36, 24
    plot_w, plot_h = width - margin_left - 8, height - margin_bottom - margin_top
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [_open(width, height, title), _axis(margin_left, margin_top, plot_h, top)]
    for i, label in enumerate(labels):
        x = margin_left + i * slot + (slot - bar_w) / 2
        y = float(margin_top + plot_h)
        for color, (name, values) in zip(PALETTE, series.items(), strict=False):
            h = plot_h * values[i] / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(label)} {escape(name)}: {values[i]:,.0f}</title></rect>"
            )
        if len(labels) <= 12 or i % max(len(labels) // 10, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - margin_bottom + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    parts.append(_legend(list(series), margin_left, height - 8))
    parts.append("</svg>")
    return "".join(parts)


def line(
    labels: Sequence[str], values: Sequence[float], title: str, width: int = 640, height: int = 220
) -> str:
    """A single line with its points, for a trend over dates."""
    margin_left, margin_bottom, margin_top = 48, 36, 24
    plot_w, plot_h = width - margin_left - 8, height - margin_bottom - margin_top
    top = max(values, default=0) or 1
    step = plot_w / max(len(values) - 1, 1)
    points = [
        (margin_left + i * step, margin_top + plot_h - plot_h * value / top) for i, value in enumerate(values)
    ]
    parts = [_open(width, height, title), _axis(margin_left, margin_top, plot_h, top)]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[2]}" stroke-width="2"/>')
    for (x, y), label, value in zip(points, labels, values, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[2]}">'
            f"<title>{escape(label)}: {value:,.0f}</title></circle>"
        )
    every = max(len(labels) // 8, 1)
    last = len(labels) - 1
    for i, label in enumerate(labels):
        if i % every == 0 or i == last:
            # The last point sits on the plot's right edge: a centred label would run off the
            # chart ("10-1"), so it ends there instead.
            anchor = "end" if i == last and last > 0 else "middle"
            parts.append(
                f'<text x="{points[i][0]:.1f}" y="{height - margin_bottom + 14}" font-size="10" '
                f'text-anchor="{anchor}">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif">'
        f'<text x="8" y="14" font-size="12" font-weight="bold">{escape(title)}</text>'
    )


def _axis(left: int, top: int, plot_h: float, maximum: float) -> str:
    bottom = top + plot_h
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom:.1f}" stroke="#999"/>'
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{maximum:,.0f}</text>'
        f'<text x="{left - 4}" y="{bottom:.1f}" font-size="10" text-anchor="end">0</text>'
    )


def _legend(names: list[str], left: int, y: int) -> str:
    items = []
    for i, (color, name) in enumerate(zip(PALETTE, names, strict=False)):
        x = left + i * 110
        items.append(
            f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{y + 1}" font-size="10">{escape(name)}</text>'
        )
    return "".join(items)
