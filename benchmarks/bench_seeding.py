"""Seeding a new world in bulk (synthetic/bulk.py), the way `make demo` seeds its history.

A throwaway warehouse migrated to head, then ``seed.seed_history`` with the owner's URL: the
generator in a second process, binary COPY of each day, the foreign keys and secondary indexes
dropped for the stretch and rebuilt at its end. Reported: the whole seed's wall time (the
issue's target: 30 business days of 1,000,000 trades in at most 10 minutes on 2 cores), its
rows/s, the slowest and median day, and the peak RSS of this process and of the generator.

Volume from the project's volume settings, so one run can be small: DEMO_TRADES_PER_DAY (here
default 1,000,000, the issue's volume) and DEMO_HISTORY_DAYS (default 30). The database is
dropped afterwards unless BENCH_SEED_KEEP=1 (to look at its plans or sizes).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import time
from typing import Any

from benchmarks import Result

DATABASE = "warehouse_bench_seed"
TARGET_SECONDS = 600
DEFAULT_TRADES_PER_DAY = 1_000_000  # the benchmarks' volume; make demo's is 10,000


def run(stack: dict[str, str]) -> list[Result]:
    from devstack import postgres
    from include.markets_ops.synthetic import seed
    from include.markets_ops.synthetic.config import DEFAULT_HISTORY_BUSINESS_DAYS, GeneratorConfig
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    trades_per_day = int(os.environ.get("DEMO_TRADES_PER_DAY") or DEFAULT_TRADES_PER_DAY)
    days = int(os.environ.get("DEMO_HISTORY_DAYS") or DEFAULT_HISTORY_BUSINESS_DAYS)
    os.environ["STACK_POSTGRES_PORT"] = stack["POSTGRES_PORT"]
    urls = database_urls(stack, DATABASE)
    config = GeneratorConfig(seed=7, epoch=dt.date(2026, 9, 1), trades_per_day=trades_per_day)
    dates = seed.business_dates(config.epoch, days)
    postgres.create_scratch_database(DATABASE)
    try:
        upgrade_to_head(urls["owner"])
        day_seconds: list[float] = []
        report = seed_world(urls, config, dates, day_seconds)
    finally:
        if os.environ.get("BENCH_SEED_KEEP") != "1":
            postgres.drop_scratch_database(DATABASE)
    rows = report.total_rows
    volume = f"{days} business days x {trades_per_day:,} trades"
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return [
        Result("seeding", "wall time", report.seconds, "s", f"{volume}; target {TARGET_SECONDS} s"),
        Result("seeding", "rows", float(rows), "rows", "every seeded table, ground truth included"),
        Result("seeding", "throughput", rows / report.seconds if report.seconds else 0.0, "rows/s", volume),
        Result("seeding", "median day", statistics.median(day_seconds), "s", "one day written to the next"),
        Result("seeding", "slowest day", max(day_seconds), "s", "the first includes the world's set-up"),
        Result("seeding", "peak RSS, writer process", own_peak, "MiB", "this process"),
        Result("seeding", "peak RSS, generator process", children_peak, "MiB", "largest child"),
    ]


def seed_world(
    urls: dict[str, str],
    config: Any,
    dates: list[dt.date],
    day_seconds: list[float],
    daily_sources: tuple[Any, ...] | None = None,
) -> Any:
    """Seed ``dates`` of ``config``'s world in bulk; each day's seconds appended to ``day_seconds``.
    ``daily_sources``: the daily files seeded (default all)."""
    import psycopg

    from include.markets_ops.feed import sources
    from include.markets_ops.synthetic import seed

    last = time.monotonic()

    def progress(line: str) -> None:  # called once a day is written
        nonlocal last
        now = time.monotonic()
        day_seconds.append(now - last)  # the cadence: writing, or waiting for the generator
        last = now
        print(f"    {line.strip()}", flush=True)

    started = time.monotonic()
    with psycopg.connect(urls["writer"]) as writer, psycopg.connect(urls["upstream"]) as upstream:
        report = seed.seed_history(
            writer,
            upstream,
            config,
            dates,
            progress=progress,
            owner_url=urls["owner"],
            daily_sources=daily_sources or sources.DAILY_SOURCES,
        )
    print(f"    seeded in {time.monotonic() - started:.0f}s", flush=True)
    return report


def database_urls(stack: dict[str, str], database: str) -> dict[str, str]:
    """The owner's, writer's, reader's and upstream feed's URLs of another database of the stack."""
    return {
        role: _with_database(stack[variable], database)
        for role, variable in (
            ("owner", "WAREHOUSE_OWNER_URL"),
            ("writer", "POSTGRES_URL"),
            ("reader", "REPORTING_READER_URL"),
            ("upstream", "UPSTREAM_FEED_URL"),
        )
    }


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))
