"""The simulated custodians from the command line: deliver statements of a business date.

    python -m include.markets_ops.statements deliver --date 2026-11-27 --custodian EUROCLEAR

Each custodian named (all of them without ``--custodian``) writes its statement to the landing
area and announces it on ``ops.custodian.statements`` (statements/upstream.py). Connections
come from the environment (var/stack.env locally): UPSTREAM_FEED_URL (the generator's world),
S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and S3_BUCKET, and the custodians'
Kafka identity, the only one that may write that topic (KAFKA_BOOTSTRAP_SERVERS,
KAFKA_CUSTODIANS_USERNAME, KAFKA_CUSTODIANS_PASSWORD, ...).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

from include.markets_ops.custodians import BY_CODE


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m include.markets_ops.statements", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    deliver = commands.add_parser("deliver", help="custodians send their statements of a date")
    deliver.add_argument("--date", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    deliver.add_argument("--custodian", action="append", choices=sorted(BY_CODE), help="repeatable")
    deliver.add_argument(
        "--bad-row-rate", type=float, default=None, help="as the feed's (default: its default)"
    )
    return main


def _environ(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"set {name} (source var/stack.env)")
    return value


def main(argv: list[str] | None = None) -> int:
    from include.markets_ops.feed.landing import S3Store
    from include.markets_ops.services import postgres, s3
    from include.markets_ops.services.topics import CUSTODIAN_STATEMENTS
    from include.markets_ops.statements.upstream import deliver_statements
    from include.markets_ops.synthetic.config import DEFAULT_BAD_ROW_RATE

    args = parser().parse_args(argv)
    settings = s3.S3Settings(
        endpoint_url=_environ("S3_ENDPOINT_URL"),
        access_key=_environ("AWS_ACCESS_KEY_ID"),
        secret_key=_environ("AWS_SECRET_ACCESS_KEY"),
        region=os.environ.get("AWS_DEFAULT_REGION"),
    )
    kafka = {
        "bootstrap.servers": _environ("KAFKA_BOOTSTRAP_SERVERS"),
        "security.protocol": _environ("KAFKA_SECURITY_PROTOCOL"),
        "sasl.mechanisms": _environ("KAFKA_SASL_MECHANISM"),
        "sasl.username": _environ("KAFKA_CUSTODIANS_USERNAME"),
        "sasl.password": _environ("KAFKA_CUSTODIANS_PASSWORD"),
    }
    rate = DEFAULT_BAD_ROW_RATE if args.bad_row_rate is None else args.bad_row_rate
    with postgres.connect(_environ("UPSTREAM_FEED_URL"), application_name="simulated-custodians") as upstream:
        delivered = deliver_statements(
            upstream,
            S3Store(s3.client(settings), _environ("S3_BUCKET")),
            kafka,
            args.date,
            args.custodian or sorted(BY_CODE),
            topic=CUSTODIAN_STATEMENTS.name,
            bad_row_rate=rate,
        )
    json.dump([message.value() for message in delivered], sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
