"""The OpenLineage names of what the project reads and writes, declared once for both sides:
the Airflow tasks (include/markets_ops/airflow/lineage.py) and the model jobs
(settlement_model/lineage.py) name a table, an S3 dataset or a topic the same way, so the
graph joins on them (docs/lineage.md).

Namespaces are logical service names (like the Airflow assets' ``warehouse-db``), not local
ports: the same dataset has the same name on every machine. Names follow the OpenLineage
naming spec (``database.schema.table`` in ``postgres://host:port``, a key prefix in
``s3://bucket``, a topic in ``kafka://host:port``).
"""

from __future__ import annotations

from dataclasses import dataclass

JOB_NAMESPACE = "markets-ops"  # the Airflow provider's [openlineage] namespace (devstack/airflow.py)
WAREHOUSE_HOST = "warehouse-db:5432"
WAREHOUSE_DATABASE = "warehouse"
KAFKA_HOST = "markets-kafka:9092"
MLFLOW_NAMESPACE = "mlflow://model-registry"
PROJECT_SCHEMAS = frozenset({"ops", "ml", "reporting", "events"})


@dataclass(frozen=True, order=True)
class DatasetName:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def table(qualified_name: str) -> DatasetName:
    """``ops.trades`` -> postgres://warehouse-db:5432 ``warehouse.ops.trades``."""
    schema, _, name = qualified_name.partition(".")
    if not name:
        raise ValueError(f"a table's lineage name needs its schema: {qualified_name!r}")
    return DatasetName(f"postgres://{WAREHOUSE_HOST}", f"{WAREHOUSE_DATABASE}.{schema}.{name}")


def s3_prefix_of(key: str) -> str:
    """The dataset an object belongs to: its key up to the first partition folder
    (``name=value``), or its folder. ``landing/trades/business_date=2026-11-27/trades.csv.gz``
    -> ``landing/trades``; ``scores/business_date=D/run=R/part-0.parquet`` -> ``scores``: every
    date's objects are the same dataset, as every date's rows are the same table."""
    folders = key.split("/")[:-1]
    for index, folder in enumerate(folders):
        if "=" in folder:
            folders = folders[:index]
            break
    return "/".join(folders) or "/"


def s3_object(bucket: str, key: str) -> DatasetName:
    return DatasetName(f"s3://{bucket}", s3_prefix_of(key))


def topic(name: str) -> DatasetName:
    return DatasetName(f"kafka://{KAFKA_HOST}", name)


def registered_model(name: str) -> DatasetName:
    return DatasetName(MLFLOW_NAMESPACE, name)
