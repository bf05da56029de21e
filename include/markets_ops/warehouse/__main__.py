"""Warehouse migrations: ``python -m include.markets_ops.warehouse upgrade|downgrade REV|current|sql DIR``.

The database URL comes from WAREHOUSE_OWNER_URL (var/stack.env locally); ``sql`` needs none: it
writes each revision's upgrade as an offline SQL script into DIR (what `make lint` checks).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from include.markets_ops.warehouse import migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.markets_ops.warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("upgrade", help="migrate to the latest revision")
    down = sub.add_parser("downgrade", help="migrate down to a revision (base = empty)")
    down.add_argument("revision")
    sub.add_parser("current", help="print the current revision")
    sql = sub.add_parser("sql", help="write each revision's upgrade as an offline SQL script")
    sql.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.command == "sql":
        for path in migrate.write_offline_upgrade_scripts(args.directory):
            print(path)
        return 0
    url = os.environ.get("WAREHOUSE_OWNER_URL")
    if not url:
        parser.error("set WAREHOUSE_OWNER_URL (source var/stack.env)")
    if args.command == "upgrade":
        migrate.upgrade_to_head(url)
    elif args.command == "downgrade":
        migrate.downgrade(url, args.revision)
    else:
        print(migrate.current_revision(url) or "base")
    return 0


if __name__ == "__main__":
    sys.exit(main())
