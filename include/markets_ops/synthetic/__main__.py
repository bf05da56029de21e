"""Synthetic Markets Operations data: ``python -m include.markets_ops.synthetic COMMAND``.

  seed       seed a clean history into the warehouse (ops.* as the writer, truth as upstream_feed)
  show       the stored world and what the warehouse holds of it
  write-day  write one business date's upstream files (CSV.gz + manifests) to a local folder
  reset      delete the synthetic world and everything generated from it

Database URLs come from POSTGRES_URL (the writer role) and UPSTREAM_FEED_URL (source
var/stack.env locally); with WAREHOUSE_OWNER_URL too, seed writes dates after every loaded
one in bulk (synthetic/bulk.py: several times faster, the same rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from include.markets_ops.synthetic.config import (
    DEFAULT_BREAK_RATES,
    DEFAULT_SEED,
    DEFAULT_TRADES_PER_DAY,
    GeneratorConfig,
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from error


def _break_rate(value: str) -> tuple[str, float]:
    name, _, rate = value.partition("=")
    if name not in DEFAULT_BREAK_RATES or not rate:
        raise argparse.ArgumentTypeError(f"expected TYPE=RATE with TYPE in {sorted(DEFAULT_BREAK_RATES)}")
    return name, float(rate)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m include.markets_ops.synthetic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = main.add_subparsers(dest="command", required=True)

    seed = commands.add_parser("seed", help="seed a clean history into the warehouse")
    seed.add_argument(
        "--start", type=_date, required=True, help="first business date (the world's epoch if new)"
    )
    seed.add_argument("--business-days", type=int, required=True)
    seed.add_argument(
        "--through-loader", action="store_true", help="every day through the feed's loader (no bulk seed)"
    )
    _world_arguments(seed)

    show = commands.add_parser("show", help="the stored world and row counts")
    show.set_defaults()

    write_day = commands.add_parser("write-day", help="one day's upstream files to a folder")
    write_day.add_argument("--date", type=_date, required=True)
    write_day.add_argument("--out", type=Path, required=True)
    write_day.add_argument("--bad-row-rate", type=float, default=0.0)
    write_day.add_argument("--epoch", type=_date, help="default: the stored world's, else the date itself")
    _world_arguments(write_day)

    reset = commands.add_parser("reset", help="delete the world and all data generated from it")
    reset.add_argument("--yes", action="store_true", help="really delete")
    return main


def _world_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--seed", type=int, default=DEFAULT_SEED)
    command.add_argument("--trades-per-day", type=int, default=DEFAULT_TRADES_PER_DAY)
    command.add_argument(
        "--break-rate",
        type=_break_rate,
        action="append",
        default=[],
        metavar="TYPE=RATE",
        help="override one break rate (repeatable)",
    )


def _connect(variable: str) -> Any:
    from include.markets_ops.services import postgres

    url = os.environ.get(variable)
    if not url:
        raise SystemExit(f"set {variable} (source var/stack.env)")
    return postgres.connect(url, application_name="synthetic-generator")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "seed":
        return _seed(args)
    if args.command == "show":
        return _show()
    if args.command == "write-day":
        return _write_day(args)
    return _reset(args)


def _seed(args: argparse.Namespace) -> int:
    from include.markets_ops.synthetic import seed, truth

    dates = seed.business_dates(args.start, args.business_days)
    with _connect("UPSTREAM_FEED_URL") as upstream, _connect("POSTGRES_URL") as writer:
        stored = truth.load_config(upstream)
        # A new world starts on the first date seeded; an existing one keeps its epoch.
        epoch = stored.epoch if stored else dates[0]
        config = GeneratorConfig(seed=args.seed, epoch=epoch, trades_per_day=args.trades_per_day)
        config = config.with_break_rates(**dict(args.break_rate))
        print(f"seeding {len(dates)} business days {dates[0]} .. {dates[-1]} ({truth.describe(config)})")
        try:
            # Dates after every loaded one go in bulk as the owner (synthetic/bulk.py) when
            # WAREHOUSE_OWNER_URL is set, unless --through-loader; others through the loader.
            owner_url = None if args.through_loader else os.environ.get("WAREHOUSE_OWNER_URL")
            report = seed.seed_history(writer, upstream, config, dates, owner_url=owner_url)
        except (truth.WorldMismatchError, ValueError) as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 2
    print(
        f"seeded {report.days} days, {report.total_rows:,} rows in {report.seconds:.0f}s "
        f"({report.total_rows / max(report.seconds, 1e-9):,.0f} rows/s)"
    )
    return 0


def _show() -> int:
    from include.markets_ops.synthetic import truth

    with _connect("UPSTREAM_FEED_URL") as upstream:
        config = truth.load_config(upstream)
    if config is None:
        print("no synthetic world is stored")
        return 1
    print(f"world: {truth.describe(config)}")
    for key, value in config.to_json().items():
        print(f"  {key:<24} {value}")
    return 0


def _write_day(args: argparse.Namespace) -> int:
    from include.markets_ops.synthetic import upstream

    try:
        config = GeneratorConfig(
            seed=args.seed, epoch=args.epoch or args.date, trades_per_day=args.trades_per_day
        ).with_break_rates(**dict(args.break_rate))
        written = upstream.write_day_files(config, args.date, args.out, bad_row_rate=args.bad_row_rate)
    except ValueError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    for manifest in written:
        print(f"  {manifest.object_key}  {manifest.rows:>9,} rows  {manifest.size_bytes:>11,} bytes")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from include.markets_ops.synthetic import reset

    if not args.yes:
        print("this deletes the synthetic world and every row generated from it; rerun with --yes")
        return 1
    with _connect("UPSTREAM_FEED_URL") as upstream, _connect("POSTGRES_URL") as writer:
        deleted = reset.reset(writer, upstream)
    for table, count in deleted.items():
        print(f"  {table:<40} {count:>10,} rows deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
