"""settlement_risk_scoring through Airflow's REST API on the stack: a date that is not a
business day of the operations calendar (a Saturday) is refused by the run's first task,
without retry and before anything is written: no next partition, no rows, no S3 object, no
high-risk message; the failure event names the rule."""

from __future__ import annotations

import datetime as dt

import psycopg
from settlement_model import contract

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.topics import AIRFLOW_EVENTS, HIGH_RISK_TRADES
from tests.integration.pipeline_stack import SCORING_DAG, s3_objects
from tests.support.kafka_messages import read_topic

SATURDAY = dt.date(2026, 11, 28)  # the date the dry run scored


def test_a_weekend_date_is_refused_before_anything_is_written(stack: dict[str, str], airflow_api) -> None:
    airflow_api.wait_for_dag(SCORING_DAG)
    airflow_api.unpause(SCORING_DAG)
    run_id = airflow_api.trigger(SCORING_DAG, logical_date=None, conf={"business_date": SATURDAY.isoformat()})
    run = airflow_api.wait_for_run(SCORING_DAG, run_id, timeout=600)

    assert run["state"] == "failed"
    tasks = {ti["task_id"]: ti for ti in airflow_api.task_instances(SCORING_DAG, run_id)}
    assert tasks["check_champion"]["state"] == "failed"
    assert tasks["check_champion"]["try_number"] == 1  # bad input: the retry policy fails it at once
    assert tasks["plan_shards"]["state"] == "upstream_failed"
    assert tasks["write_manifest"]["state"] == "upstream_failed"

    events = read_topic(
        kafka_client_of(stack, "reader"),
        AIRFLOW_EVENTS.name,
        lambda key: key.startswith(f"{SCORING_DAG}/{run_id}/"),
    )
    assert [key for key, _ in events] == [f"{SCORING_DAG}/{run_id}/check_champion/-1/1"]
    assert events[0][1]["exception_type"] == "NotABusinessDateError"
    assert (
        "not scored: rule business-date-is-a-business-day: 1 date is not a XNYS business day, "
        "e.g. 2026-11-28 (Saturday)"
    ) in events[0][1]["error"]

    # Nothing written: no next partition was prepared, no rows, no S3 object, no message.
    with psycopg.connect(stack["REPORTING_READER_URL"]) as reader:
        (next_partition,) = reader.execute(
            "SELECT to_regclass(%s)", (f"ml.{contract.next_partition_name(SATURDAY)}",)
        ).fetchone()
        (rows,) = reader.execute(
            "SELECT count(*) FROM ml.trade_scores WHERE business_date = %s", (SATURDAY,)
        ).fetchone()
    assert (next_partition, rows) == (None, 0)
    assert s3_objects(stack, contract.scores_prefix(SATURDAY)) == {}
    high_risk_of_the_date = read_topic(
        kafka_client_of(stack, "reader"),
        HIGH_RISK_TRADES.name,
        lambda _key: True,
    )
    assert [
        value for _, value in high_risk_of_the_date if value["business_date"] == SATURDAY.isoformat()
    ] == []
