"""The ``ops_demo_feed`` DAG's first task, ``simulate_upstream_systems``: the only module of the
synthetic world that sees the Airflow context.

The simulated booking, custody and settlement systems (upstream.py) deliver the run's business
date: the ground truth to the synthetic schema (the upstream simulator's role), the files to the
landing area, where the feed's load tasks (feed/tasks.py) pick them up. In a dry run the files
go to the run's preview prefix, which the task links to, and no ground truth is written. Bad
input (a date that is not a business date, no synthetic world) fails without retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.markets_ops.airflow import connections, dry_run, links
from include.markets_ops.feed.tasks import connect, feed_business_date, landing_store
from include.markets_ops.services import postgres

log = logging.getLogger(__name__)


def simulate_upstream_systems(context: Mapping[str, Any]) -> dict[str, Any]:
    """The upstream systems deliver the business date: truth to synthetic.*, files to S3."""
    from include.markets_ops.errors import BadInputError
    from include.markets_ops.synthetic import upstream

    if dry_run.is_dry_run(context):  # the link shows the dry run's preview
        prefix = dry_run.context_preview_prefix(context)
        links.record(links.S3_OUTPUT, context, bucket=connections.s3_bucket(), prefix=prefix)
    day = feed_business_date(context)
    rate = float(context["params"]["bad_row_rate"])
    simulate = upstream.preview_day if dry_run.is_dry_run(context) else upstream.simulate_day
    try:
        with connect(postgres.UPSTREAM_CONN_ID) as connection:
            result = simulate(connection, landing_store(context), day, bad_row_rate=rate)
    except BadInputError:  # no world, or none yet on that date: as it is, its type named
        raise
    except ValueError as error:  # a parameter out of range
        raise BadInputError(str(error)) from error
    for name, file in result["files"].items():
        log.info("delivered %s: %s rows -> s3://%s", name, f"{file['rows']:,}", file["object"])
    log.info("ground truth written: %s", result["truth"])
    return result
