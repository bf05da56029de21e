"""``settlement-model <job> [options]``: the pods' single entry point."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="settlement-model", description=__doc__)
    sub = parser.add_subparsers(dest="job", required=True)
    sub.add_parser("version", help="print the package version")
    args = parser.parse_args(argv)
    if args.job == "version":
        from importlib.metadata import version

        print(version("settlement-model"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
