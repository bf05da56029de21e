"""The ``settlement_risk_scoring`` DAG's tasks around the scoring pods, named as them: the only
module of the pipeline that sees the Airflow context, its Variables, connections and links.

1. ``check_champion``: the business date, refused unless a business day of the operations
   calendar (before anything is written), and the model version every shard uses, pinned once;
   the ``challenger``, when there is one, pinned too: the shards score it in shadow.
2. ``plan_shards``: the run's plan (plan.py) with a fresh attempt (the S3 folder of its parts)
   and each shard's job arguments; unless a dry run, the date's next partition prepared
   (swap.py) before the shards start. The date's manifest and parts stay as they are.
3. ``swap_scores``: the next partition attached in place of the date's rows (swap.py).
4. ``compare_shadow``: champion and challenger compared on the shadow dates' realised outcomes
   (shadow.py), after the swap.
5. ``write_manifest``: the S3 manifest replaced last, then the date's earlier parts removed;
   the links and the asset event (manifest.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from settlement_model import contract, lineage_names

from include.markets_ops import calendars
from include.markets_ops.airflow import connections, lineage, links
from include.markets_ops.airflow.assets import TRADE_SCORES
from include.markets_ops.airflow.business_date import resolve_business_date
from include.markets_ops.scoring import manifest, swap
from include.markets_ops.scoring.plan import (
    HIGH_THRESHOLD_VARIABLE,
    MEDIUM_THRESHOLD_VARIABLE,
    SHARDS_VARIABLE,
    ScoringPlan,
    new_attempt,
)
from include.markets_ops.services.topics import HIGH_RISK_TRADES

log = logging.getLogger(__name__)


def thresholds_from_variables() -> tuple[float, float]:
    from airflow.sdk import Variable

    return float(Variable.get(HIGH_THRESHOLD_VARIABLE)), float(Variable.get(MEDIUM_THRESHOLD_VARIABLE))


def shard_count_from_variable(requested: int | None) -> int:
    from airflow.sdk import Variable

    return int(requested) if requested else int(Variable.get(SHARDS_VARIABLE))


def scoring_business_date(context: Mapping[str, Any]) -> dt.date:
    """The run's business date, which must be a business day of the operations calendar, as
    the feed and the reconciliation require: there are no trades of a weekend or a holiday to
    score, and a run for one would only replace nothing with nothing. Fails without retries (a
    retry cannot change the calendar)."""
    business_date = resolve_business_date(context)  # BusinessDateError: bad input
    try:
        calendars.check_business_date(business_date, calendars.OPERATIONS_CALENDAR)
    except calendars.NotABusinessDateError as error:
        raise calendars.NotABusinessDateError(f"not scored: {error}") from error
    return business_date


def check_champion(context: Mapping[str, Any]) -> dict[str, Any]:
    """The business date (a business day, else refused before anything is written) and the model
    version every shard will use (the champion unless a version is asked for), linked; the
    challenger's version to score in shadow beside it, if any. Fails fast, without retries,
    when either is wrong (ModelNotFoundError is bad input)."""
    from include.markets_ops.services import model_registry

    business_date = scoring_business_date(context)
    requested = (context.get("params") or {}).get("model_version")
    mlflow_client = connections.mlflow_client()
    version = model_registry.scoring_version(mlflow_client, requested)
    links.record(links.MLFLOW_MODEL_VERSION, context, model_name=model_registry.MODEL_NAME, version=version)
    return {
        "business_date": business_date.isoformat(),
        "model_name": model_registry.MODEL_NAME,
        "model_version": version,
        "shadow_version": shadow_version(context, mlflow_client, version),
    }


def shadow_version(context: Mapping[str, Any], mlflow_client: Any, scored_version: str) -> str | None:
    """The challenger to score in shadow tonight, if any. One the job would refuse is left out with
    a warning: a challenger never stops the champion's scores."""
    from include.markets_ops.services import model_registry

    if not (context.get("params") or {}).get("shadow", True):
        return None
    challenger = model_registry.shadow_version(mlflow_client, scored_version)
    if challenger is None:
        return None
    conn = connections.connection(model_registry.MLFLOW_CONN_ID)
    problem = model_registry.why_not_scorable(
        model_registry.tracking_uri_of(conn), model_registry.credentials_of(conn), challenger
    )
    if problem is not None:
        log.warning("not scoring challenger version %s in shadow tonight: %s", challenger, problem)
        return None
    return challenger


def plan_shards(context: Mapping[str, Any], champion: dict[str, Any]) -> list[list[str]]:
    """One argument list per shard (mapped over); the plan goes to XCom key "plan".

    The plan takes the shards from the param or the Variable and the thresholds from
    Variables, and a fresh attempt: the folder its shards' parts go to, apart from the parts
    the date's manifest lists (which stay readable until write_manifest replaces it). Unless a
    dry run, the date's next partition is prepared for the shards to write into, and the
    challenger's shadow partition beside it (a dry run shadows nothing)."""
    params = context.get("params") or {}
    dry_run = bool(params.get("dry_run"))
    high, medium = thresholds_from_variables()
    plan = ScoringPlan(
        business_date=dt.date.fromisoformat(champion["business_date"]),
        model_name=champion["model_name"],
        model_version=champion["model_version"],
        shard_count=shard_count_from_variable(params.get("shards")),
        high_risk_threshold=high,
        medium_risk_threshold=medium,
        scoring_run_id=str(context["run_id"]),
        dry_run=dry_run,
        attempt=new_attempt(str(context["run_id"])),
        shadow_version=None if dry_run else champion.get("shadow_version"),
    )
    if not plan.dry_run:
        swap.prepare_partition(connections.postgres_url(), plan)
    context["ti"].xcom_push(key="plan", value=plan.as_xcom())
    return plan.shard_arguments()


def swap_scores(plan_xcom: dict[str, Any]) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowSkipException

    plan = ScoringPlan.from_xcom(plan_xcom)
    if plan.dry_run:
        raise AirflowSkipException("dry run: the shards' work tables stay in staging for inspection")
    # Attached by SQL functions the lineage parser cannot see into: the date's partitions.
    swapped = (
        (contract.TRADE_SCORES, contract.SHADOW_SCORES) if plan.shadow_version else (contract.TRADE_SCORES,)
    )
    lineage.report(outputs=tuple(lineage_names.table(f"ml.{name}") for name in swapped))
    return swap.swap_into_trade_scores(connections.postgres_url(), plan)


def compare_shadow(plan_xcom: dict[str, Any]) -> dict[str, Any]:
    """The shadow comparisons of the lookback's dates, with the outcomes known by the run's date."""
    from airflow.sdk import Variable

    from include.markets_ops.scoring import shadow

    plan = ScoringPlan.from_xcom(plan_xcom)
    lookback = int(Variable.get(shadow.LOOKBACK_VARIABLE, default=shadow.DEFAULT_LOOKBACK_DAYS))
    done = shadow.compare(connections.postgres_url(), plan.business_date, lookback)
    return {
        "outcomes_known_by": plan.business_date.isoformat(),
        "dates": [row["business_date"].isoformat() for row in done.written],
        "comparisons": len(done.written),
        "final_dates": [day.isoformat() for day in done.final_dates],
    }


def write_manifest(
    context: Mapping[str, Any], plan_xcom: dict[str, Any], swapped: dict[str, Any]
) -> dict[str, Any]:
    """The date's manifest, last; links to the scores' prefix and the date's high-risk messages;
    the ``ml.trade_scores`` asset event carries the date, the model version and the row count."""
    plan = ScoringPlan.from_xcom(plan_xcom)
    written = manifest.write_manifest(connections.s3_client(), connections.s3_bucket(), plan, swapped)
    day = written["business_date"]
    prefix = contract.scores_prefix(dt.date.fromisoformat(day))
    links.record(links.S3_OUTPUT, context, bucket=connections.s3_bucket(), prefix=prefix)
    links.record(links.KAFKA_TOPIC, context, topic=HIGH_RISK_TRADES.name, business_date=day)
    context["outlet_events"][TRADE_SCORES].extra = {
        "business_date": written["business_date"],
        "model_version": written["model_version"],
        "row_count": written["row_count"],
    }
    return written
