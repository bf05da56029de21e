"""The simulated upstream systems: booking, custody and settlement deliver a business date.

For a date they write their files to the landing area (reference data, trades, the custodian
statement, settlement outcomes; a small share of malformed rows injected) and record the
ground truth in the synthetic schema. The world comes from synthetic.simulation_config, so
the feed continues the history the generator seeded.

The night's files are written as the day is generated (``generate_files``: one booking block
at a time into each file, bad rows injected chunk by chunk), then published, so the
simulator's memory does not grow with the volume; ``upstream_day`` builds the same files as
whole tables (the custodians' statements, the tests).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    """The day's files as whole tables (the same rows ``generate_files`` writes)."""
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


@dataclass(frozen=True)
class WrittenDay:
    """A day's files written to a scratch folder, not yet published, and the day's truth."""

    business_date: dt.date
    reference_files: dict[str, pa.Table]
    daily_files: dict[str, landing.FileWriter]  # closed; source -> its file and counts
    trade_fail_probability: pa.Table
    injected_breaks: pa.Table
    injected_bad_rows: pa.Table

    def publish(self, store: landing.ObjectStore) -> list[landing.Manifest]:
        """Publish every file of the day (reference first, as the feed loads them)."""
        manifests = [
            landing.publish(store, source.name, self.business_date, self.reference_files[source.name])
            for source in sources.REFERENCE_SOURCES
        ]
        for source in sources.DAILY_SOURCES:
            written = self.daily_files[source.name]
            manifests.append(
                landing.publish_file(store, written.path, written.manifest(source.name, self.business_date))
            )
        return manifests


class _FilesSink:
    """Receives the day's rows block by block (daily.DaySink): the delivered sources go through
    their bad-row injection into their files; the truth is kept (a few columns a trade)."""

    def __init__(self, config: GeneratorConfig, business_date: dt.date, bad_row_rate: float, folder: Path):
        self.files = {
            source.name: landing.FileWriter(folder / landing.file_name(source.name))
            for source in sources.DAILY_SOURCES
        }
        self.corrupters = {
            name: bad_rows.FileCorrupter(config.seed, business_date, name, bad_row_rate)
            for name in self.files
        }
        self.truth: dict[str, list[pa.Table]] = {"trade_fail_probability": [], "injected_breaks": []}

    def write(self, name: str, rows: pa.Table) -> None:
        if name in self.files:
            for chunk in self.corrupters[name].feed(rows):
                self.files[name].write(chunk)
        else:
            self.truth[name].append(rows)

    def close(self) -> None:
        for name, writer in self.files.items():
            for chunk in self.corrupters[name].finish():
                writer.write(chunk)
            writer.close()


@contextmanager
def generate_files(
    config: GeneratorConfig, business_date: dt.date, bad_row_rate: float
) -> Iterator[WrittenDay]:
    """The day generated straight into its files, in a scratch folder removed on exit."""
    with tempfile.TemporaryDirectory(prefix="upstream-") as scratch:
        sink = _FilesSink(config, business_date, bad_row_rate, Path(scratch))
        try:
            # A cache of no blocks: each booking block generated, written and dropped in turn.
            daily.stream_day(config, business_date, sink, BookingsCache(config, capacity=0))
        finally:
            sink.close()
        yield WrittenDay(
            business_date=business_date,
            reference_files=dict(reference.ops_tables(config)),
            daily_files=sink.files,
            trade_fail_probability=pa.concat_tables(sink.truth["trade_fail_probability"]),
            injected_breaks=pa.concat_tables(sink.truth["injected_breaks"]),
            injected_bad_rows=pa.concat_tables(
                [sink.corrupters[source.name].bad_rows() for source in sources.DAILY_SOURCES]
            ),
        )


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
    with generate_files(config, business_date, bad_row_rate) as day:
        truth.write_profiles(upstream_connection, config)
        written = truth.write_day(
            upstream_connection,
            business_date,
            day.trade_fail_probability,
            day.injected_breaks,
            day.injected_bad_rows,
        )
        manifests = day.publish(store)
    return _summary(config, business_date, manifests, written)


def preview_day(
    upstream_connection: Any,
    store: landing.ObjectStore,
    business_date: dt.date,
    bad_row_rate: float = DEFAULT_BAD_ROW_RATE,
) -> dict[str, Any]:
    """Dry run of ``simulate_day``: the same files, delivered to ``store`` (the run's preview);
    the ground truth is not written (the synthetic schema is only read)."""
    config = world(upstream_connection, business_date)
    with generate_files(config, business_date, bad_row_rate) as day:
        manifests = day.publish(store)
    return _summary(config, business_date, manifests, None) | {"dry_run": True}


def _summary(
    config: GeneratorConfig,
    business_date: dt.date,
    manifests: list[landing.Manifest],
    written: dict[str, int] | None,
) -> dict[str, Any]:
    return {
        "business_date": business_date.isoformat(),
        "world": truth.describe(config),
        "files": {
            m.source: {"object": m.object_key, "rows": m.rows, "bytes": m.size_bytes} for m in manifests
        },
        "truth": written,
    }


def write_day_files(
    config: GeneratorConfig, business_date: dt.date, folder: Path, bad_row_rate: float = 0.0
) -> list[landing.Manifest]:
    """One date's files in a local folder, in the landing layout (no database needed)."""
    with generate_files(config, business_date, bad_row_rate) as day:
        return day.publish(landing.LocalStore(folder))
