"""Extra links: the URLs they build, and how they ride on the tasks (per task, serialized as XCom keys)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from include.markets_ops.airflow import links

BASE = "http://airflow.example:8080"
MLFLOW = "http://mlflow.example:5000/"


def test_mlflow_urls_point_at_the_version_and_the_run() -> None:
    assert (
        links.mlflow_model_version_url(MLFLOW, "settlement_fail_risk", "12")
        == "http://mlflow.example:5000/#/models/settlement_fail_risk/versions/12"
    )
    assert (
        links.mlflow_run_url(MLFLOW, "3", "abc123")
        == "http://mlflow.example:5000/#/experiments/3/runs/abc123"
    )


def test_a_model_version_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        links.mlflow_model_version_url(MLFLOW, "m", "1; drop")


def test_s3_and_kafka_urls_open_the_dashboard_pages_with_encoded_queries() -> None:
    assert links.s3_prefix_url(BASE + "/", "markets-ops", "reports/recon/business_date=2031-07-08/") == (
        "http://airflow.example:8080/ops-dashboard/s3?bucket=markets-ops"
        "&prefix=reports%2Frecon%2Fbusiness_date%3D2031-07-08%2F"
    )
    assert links.kafka_topic_url(BASE, "ops.recon.summary", "2031-07-08") == (
        "http://airflow.example:8080/ops-dashboard/kafka?topic=ops.recon.summary&business_date=2031-07-08"
    )
    assert links.kafka_topic_url("", "mlops.model-events", key="m/run 1/3/promoted") == (
        "/ops-dashboard/kafka?topic=mlops.model-events&key=m%2Frun+1%2F3%2Fpromoted"
    )


class FakeTaskInstance:
    """What the task runner passes to get_link as ti_key: the running task instance."""

    def __init__(self, xcom: dict[tuple[str, str], Any], task_id: str = "publish_report") -> None:
        self.task_id = task_id
        self.map_index = -1
        self.xcom = xcom
        self.pushed: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int | None = None) -> Any:
        return self.xcom.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def bases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "airflow_base_url", lambda: BASE)
    monkeypatch.setattr(links, "mlflow_ui_url", lambda: MLFLOW)


def test_get_link_formats_what_the_task_recorded(bases: None) -> None:
    ti = FakeTaskInstance({})
    links.record(links.S3_OUTPUT, {"ti": ti}, bucket="b", prefix="scores/business_date=2031-07-08/")
    links.record(links.MLFLOW_MODEL_VERSION, {"ti": ti}, model_name="settlement_fail_risk", version="4")
    ti.xcom = {(ti.task_id, key): value for key, value in ti.pushed.items()}

    assert links.S3_OUTPUT.get_link(None, ti_key=ti) == links.s3_prefix_url(
        BASE, "b", "scores/business_date=2031-07-08/"
    )
    assert links.MLFLOW_MODEL_VERSION.get_link(None, ti_key=ti).endswith(
        "/#/models/settlement_fail_risk/versions/4"
    )


def test_no_recorded_target_gives_no_link(bases: None) -> None:
    assert links.KAFKA_TOPIC.get_link(None, ti_key=FakeTaskInstance({})) == ""


def test_a_resolver_finds_the_target_of_a_task_that_cannot_record(
    bases: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from include.markets_ops.training import tasks as training

    monkeypatch.setattr(training, "training_run_target", lambda ti: {"experiment_id": "7", "run_id": "r1"})
    assert links.TRAINING_RUN.get_link(None, ti_key=FakeTaskInstance({})) == MLFLOW.rstrip("/") + (
        "/#/experiments/7/runs/r1"
    )


def test_each_link_has_its_own_xcom_key() -> None:
    every = [
        links.MLFLOW_MODEL_VERSION,
        links.MLFLOW_RUN,
        links.S3_OUTPUT,
        links.KAFKA_TOPIC,
        links.TRAINING_RUN,
    ]
    assert len({link.xcom_key for link in every}) == len(every)
    assert len({link.target_key for link in every}) == len(every)


def test_linked_tasks_carry_their_own_links_and_serialize_them_as_xcom_keys() -> None:
    from airflow.sdk import dag
    from airflow.serialization.serialized_objects import DagSerialization

    @dag(schedule=None, start_date=dt.datetime(2031, 1, 1))
    def with_links() -> None:
        @links.linked_task(links=[links.S3_OUTPUT, links.KAFKA_TOPIC])
        def produce() -> int:
            return 1

        @links.linked_task(links=[links.MLFLOW_MODEL_VERSION], retries=0)
        def other(value: int) -> int:
            return value

        other(produce())

    built = with_links()
    assert built.get_task("produce").operator_extra_links == (links.S3_OUTPUT, links.KAFKA_TOPIC)
    assert built.get_task("other").operator_extra_links == (links.MLFLOW_MODEL_VERSION,)
    assert built.get_task("other").retries == 0
    serialized = DagSerialization.to_dict(built)
    encoded = {t["__var"]["task_id"]: t["__var"]["_operator_extra_links"] for t in serialized["dag"]["tasks"]}
    assert encoded == {
        "produce": {"S3 output": "_link_s3_output", "Kafka topic": "_link_kafka_topic"},
        "other": {"MLflow model version": "_link_mlflow_model_version"},
    }
    # The api-server side rebuilds them from the keys alone: no plugin registration needed.
    restored = DagSerialization.from_dict(serialized)
    assert restored.get_task("produce").extra_links == ["Kafka topic", "S3 output"]
