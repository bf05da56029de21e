"""Helpers of the model tests against the real stack (fixtures: tests/integration/model/conftest.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from settlement_model import train_job
from settlement_model.contract import JobEnvironment

from devstack.stack_env import kafka_client_of
from include.markets_ops.services.kafka import READ_ONLY_GROUP_PREFIX

TRAINING_DATE = dt.date(2023, 4, 11)  # the last day of tests/support/settlement_fixture.py's rows
WINDOWS = {"train_days": 25, "holdout_days": 7, "label_lag_days": 3}


def job_environment(
    stack: dict[str, str],
    work_dir: Path,
    model_name: str,
    database_url: str,
    kafka_config: dict[str, Any] | None = None,
) -> JobEnvironment:
    work_dir.mkdir(parents=True, exist_ok=True)
    return JobEnvironment(
        database_url=database_url,
        s3_bucket=stack["S3_BUCKET"],
        s3_endpoint_url=stack["S3_ENDPOINT_URL"],
        aws_region=stack["AWS_DEFAULT_REGION"],
        mlflow_tracking_uri=stack["MLFLOW_TRACKING_URI"],
        model_name=model_name,
        kafka_config=kafka_config or kafka_client_of(stack, "scoring"),
        work_dir=work_dir,
    )


def train(env: JobEnvironment, **params: Any) -> str:
    """Train and register a version on the snapshot; returns the version."""
    result = train_job.train(env, TRAINING_DATE, train_job.Hyperparameters(**params), "pytest")
    return str(result["model_version"])


def read_topic(stack: dict[str, str], topic: str, timeout_seconds: float = 20.0) -> list[tuple[str, bytes]]:
    """Every (key, value) on the topic, from the beginning of each partition, in offset order."""
    import time

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **kafka_client_of(stack, "reader"),
            "group.id": f"{READ_ONLY_GROUP_PREFIX}pytest-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    messages: list[tuple[int, int, str, bytes]] = []
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        finished: set[int] = set()
        deadline = time.monotonic() + timeout_seconds
        while len(finished) < len(partitions) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                finished.add(message.partition())
                continue
            messages.append((message.partition(), message.offset(), message.key().decode(), message.value()))
    finally:
        consumer.close()
    return [(key, value) for _, _, key, value in sorted(messages)]
