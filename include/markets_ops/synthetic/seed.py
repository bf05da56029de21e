"""Seeding a clean history straight into the warehouse, one business date at a time.

The pipeline's tables (ops.*) are loaded as the writer role through the feed's own loader
(include/markets_ops/feed/loader.py: COPY into a work table, checks, idempotent merge), so a
seeded day holds exactly what the feed DAG would have loaded from clean files; the truth goes
to synthetic.* as the upstream_feed role. Memory is bounded by one day (and the bookings of
the lifecycle window, which are cached). Reseeding a date replaces it: the same rows.

Given the owner's URL, a stretch after every loaded date is seeded in bulk instead
(synthetic/bulk.py: the same rows, several times faster); `make demo` and the CLI do so.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR
from include.markets_ops.feed import landing, loader, sources
from include.markets_ops.synthetic import bulk, daily, reference, truth
from include.markets_ops.synthetic.bookings import BookingsCache
from include.markets_ops.synthetic.config import GeneratorConfig

SEED_RUN_ID = "synthetic-seed"


@dataclass
class SeedReport:
    start: dt.date
    end: dt.date
    days: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def add(self, counts: dict[str, int]) -> None:
        for name, count in counts.items():
            self.rows[name] = self.rows.get(name, 0) + count


def business_dates(start: dt.date, count: int) -> list[dt.date]:
    """``count`` operations business days from ``start`` (rolled forward to a business day)."""
    first = calendars.add_business_days(start, 0, OPERATIONS_CALENDAR)
    return [calendars.add_business_days(first, offset, OPERATIONS_CALENDAR) for offset in range(count)]


def load_reference(writer: Any, config: GeneratorConfig, dag_run_id: str = SEED_RUN_ID) -> dict[str, int]:
    """The reference files, through the loader (upsert: idempotent)."""
    files = reference.ops_tables(config)
    loaded = {}
    for source in sources.REFERENCE_SOURCES:
        report = loader.load_file(
            writer,
            source,
            config.epoch,
            partial(landing.csv_chunks, files[source.name]),
            dag_run_id=dag_run_id,
            max_bad_share=0.0,
        )
        loaded[source.name] = report.loaded
    return loaded


def seed_history(
    writer: Any,
    upstream: Any,
    config: GeneratorConfig,
    dates: list[dt.date],
    *,
    progress: Callable[[str], None] = print,
    owner_url: str | None = None,
    daily_sources: tuple[sources.Source, ...] = sources.DAILY_SOURCES,
) -> SeedReport:
    """Seed ``dates`` (business dates of the world, in order) with clean data: in bulk when
    ``owner_url`` (the warehouse owner's) is given and no date on or after the first is loaded,
    else day by day through the loader. ``daily_sources``: the daily files seeded (all; a
    benchmark whose jobs never read the custodians' statements leaves them out)."""
    started = time.monotonic()
    world = truth.ensure_world(upstream, config)
    if dates and dates[0] < world.epoch:
        raise ValueError(f"{dates[0]} is before the world's epoch {world.epoch}")
    report = SeedReport(start=dates[0], end=dates[-1]) if dates else SeedReport(world.epoch, world.epoch)
    truth.write_profiles(upstream, world)
    report.add(load_reference(writer, world))

    def seeded(business_date: dt.date, counts: dict[str, int], seconds: float) -> None:
        report.add(counts)
        report.days += 1
        progress(
            f"  {business_date}  trades {counts['trades']:>8,}"
            f"  statement {counts.get('custodian_confirmations', 0):>8,}"
            f"  outcomes {counts['settlement_outcomes']:>8,}  breaks {counts['injected_breaks']:>6,}"
            f"  ({seconds:.1f}s)"
        )

    if not _seeded_in_bulk(owner_url, world, dates, seeded, daily_sources):
        cache = BookingsCache(world)
        for business_date in dates:
            day_started = time.monotonic()
            counts = seed_day(writer, upstream, world, business_date, cache, daily_sources=daily_sources)
            seeded(business_date, counts, time.monotonic() - day_started)
    report.seconds = time.monotonic() - started
    return report


def _seeded_in_bulk(
    owner_url: str | None,
    config: GeneratorConfig,
    dates: list[dt.date],
    on_day: Callable[[dt.date, dict[str, int], float], None],
    daily_sources: tuple[sources.Source, ...],
) -> bool:
    """Whether ``dates`` were seeded in bulk: only with the owner's URL and nothing loaded on or
    after the first date (checked here, and again under the feed's lock by bulk.seed_days)."""
    if not dates or owner_url is None or not bulk.is_fresh(owner_url, dates[0]):
        return False
    return bulk.seed_days(owner_url, config, dates, on_day, daily_sources)


def seed_day(
    writer: Any,
    upstream: Any,
    config: GeneratorConfig,
    business_date: dt.date,
    cache: BookingsCache,
    *,
    daily_sources: tuple[sources.Source, ...] = sources.DAILY_SOURCES,
) -> dict[str, int]:
    day = daily.build_day(config, business_date, cache)
    counts = truth.write_day(upstream, business_date, day.trade_fail_probability, day.injected_breaks, None)
    for source in daily_sources:
        table = getattr(day, source.name)
        report = loader.load_file(
            writer,
            source,
            business_date,
            partial(landing.csv_chunks, table),
            dag_run_id=SEED_RUN_ID,
            max_bad_share=0.0,  # clean history: any rejected row is a generator bug
        )
        counts[source.name] = report.loaded
    return counts
