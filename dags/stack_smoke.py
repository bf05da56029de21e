"""
### Stack smoke check

**Owner:** data-platform

**What it does.** One round trip through every service the pipelines use, with the same
connections and clients: a query on the warehouse (writer and read-only roles), an object
written to and read back from S3, a Kafka message produced and consumed, and an MLflow run
with an artifact (stored in S3 through the tracking server).

**Inputs / outputs.** Connections `warehouse_postgres`, `warehouse_reporting`, `s3_markets`,
`kafka_markets`, `mlflow_tracking`; writes `s3://<bucket>/stack-checks/<run id>.json`, one message
on `ops.stack.checks`, one run in the MLflow experiment `stack-checks`.

**How to triage.** The failing task names the service; its log has the client's error. Check
`make status` and the service's log under `var/log/`.

**How to rerun.** Trigger it again (no parameters); every run writes only its own objects.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from include.markets_ops.airflow.defaults import Owner, Tag, default_args


@dag(
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.PLATFORM],
    default_args=default_args(Owner.DATA_PLATFORM),
    max_active_runs=1,
)
def stack_smoke() -> None:
    @task
    def warehouse_as_writer() -> dict:
        from include.markets_ops.checks import tasks

        return tasks.warehouse_as_writer()

    @task
    def warehouse_as_reader() -> dict:
        from include.markets_ops.checks import tasks

        return tasks.warehouse_as_reader()

    @task
    def s3_round_trip(**context) -> dict:
        from include.markets_ops.checks import tasks

        return tasks.s3_round_trip(context)

    @task
    def kafka_round_trip(**context) -> dict:
        from include.markets_ops.checks import tasks

        return tasks.kafka_round_trip(context)

    @task
    def mlflow_round_trip(**context) -> dict:
        from include.markets_ops.checks import tasks

        return tasks.mlflow_round_trip(context)

    warehouse_as_writer()
    warehouse_as_reader()
    s3_round_trip()
    kafka_round_trip()
    mlflow_round_trip()


stack_smoke()
