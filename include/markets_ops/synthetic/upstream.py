"""The simulated upstream systems: booking, custody and settlement deliver a business date.

For a date they write their files to the landing area (reference data, trades, the custodian
statement, settlement outcomes; a small share of malformed rows injected) and record the
ground truth in the synthetic schema. The world comes from synthetic.simulation_config, so
the feed continues the history the generator seeded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from include.markets_ops.errors import BadInputError
from include.markets_ops.feed import landing, sources
from include.markets_ops.synthetic import bad_rows, daily, reference, truth
from include.markets_ops.synthetic.bookings import BookingsCache
from include.markets_ops.synthetic.config import DEFAULT_BAD_ROW_RATE, GeneratorConfig


class NoWorldError(BadInputError, RuntimeError):
    """The warehouse holds no synthetic world, or none on that date yet: seed one first."""


@dataclass(frozen=True)
class UpstreamDay:
    business_date: dt.date
    files: dict[str, pa.Table]  # source -> the file's rows (bad rows included)
    injected_bad_rows: pa.Table
    day: daily.DayData


def upstream_day(
    config: GeneratorConfig,
    business_date: dt.date,
    bad_row_rate: float = DEFAULT_BAD_ROW_RATE,
    cache: BookingsCache | None = None,
) -> UpstreamDay:
    day = daily.build_day(config, business_date, cache)
    files = dict(reference.ops_tables(config))
    injected = []
    for source in sources.DAILY_SOURCES:
        result = bad_rows.inject(
            config.seed, business_date, source.name, getattr(day, source.name), bad_row_rate
        )
        files[source.name] = result.table
        injected.append(result.bad_rows)
    return UpstreamDay(business_date, files, pa.concat_tables(injected), day)


def deliver(store: landing.ObjectStore, upstream: UpstreamDay) -> list[landing.Manifest]:
    """Publish every file of the day (reference first, as the feed loads them)."""
    order = [source.name for source in sources.REFERENCE_SOURCES + sources.DAILY_SOURCES]
    return [landing.publish(store, name, upstream.business_date, upstream.files[name]) for name in order]


def world(upstream_connection: Any, business_date: dt.date) -> GeneratorConfig:
    config = truth.load_config(upstream_connection)
    if config is None:
        raise NoWorldError(
            "the warehouse holds no synthetic world: seed one first "
            "(python -m include.markets_ops.synthetic seed ..., or make demo)"
        )
    if business_date < config.epoch:
        raise NoWorldError(f"{business_date} is before the synthetic world's epoch {config.epoch}")
    return config


def simulate_day(
    upstream_connection: Any,
    store: landing.ObjectStore,
    business_date: dt.date,
    bad_row_rate: float = DEFAULT_BAD_ROW_RATE,
) -> dict[str, Any]:
    """The upstream systems' night for ``business_date``: truth recorded, then files delivered."""
    config = world(upstream_connection, business_date)
    upstream = upstream_day(config, business_date, bad_row_rate)
    truth.write_profiles(upstream_connection, config)
    written = truth.write_day(
        upstream_connection,
        business_date,
        upstream.day.trade_fail_probability,
        upstream.day.injected_breaks,
        upstream.injected_bad_rows,
    )
    manifests = deliver(store, upstream)
    return {
        "business_date": business_date.isoformat(),
        "world": truth.describe(config),
        "files": {
            m.source: {"object": m.object_key, "rows": m.rows, "bytes": m.size_bytes} for m in manifests
        },
        "truth": written,
    }


def preview_day(
    upstream_connection: Any,
    store: landing.ObjectStore,
    business_date: dt.date,
    bad_row_rate: float = DEFAULT_BAD_ROW_RATE,
) -> dict[str, Any]:
    """Dry run of ``simulate_day``: the same files, delivered to ``store`` (the run's preview);
    the ground truth is not written (the synthetic schema is only read)."""
    config = world(upstream_connection, business_date)
    manifests = deliver(store, upstream_day(config, business_date, bad_row_rate))
    return {
        "business_date": business_date.isoformat(),
        "dry_run": True,
        "world": truth.describe(config),
        "files": {
            m.source: {"object": m.object_key, "rows": m.rows, "bytes": m.size_bytes} for m in manifests
        },
        "truth": None,
    }


def write_day_files(
    config: GeneratorConfig, business_date: dt.date, folder: Path, bad_row_rate: float = 0.0
) -> list[landing.Manifest]:
    """One date's files in a local folder, in the landing layout (no database needed)."""
    return deliver(landing.LocalStore(folder), upstream_day(config, business_date, bad_row_rate))
