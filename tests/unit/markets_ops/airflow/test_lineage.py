"""The clients' lineage reports: the tables a statement reads and writes, the S3 datasets and
topics, and names that the providers' converters turn into the OpenLineage datasets the model
jobs name the same way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from settlement_model import lineage_names

from include.markets_ops.airflow import lineage
from include.markets_ops.services.sql_files import read_sql


class RecordingCollector:
    def __init__(self) -> None:
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def add_input_asset(self, context: Any, uri: str) -> None:
        self.inputs.append(uri)

    def add_output_asset(self, context: Any, uri: str) -> None:
        self.outputs.append(uri)


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> RecordingCollector:
    recording = RecordingCollector()
    monkeypatch.setattr(lineage, "_collector", lambda: recording)
    return recording


@pytest.mark.parametrize(
    ("sql_file", "reads", "writes"),
    [
        (
            "recon/insert_breaks.sql",
            {"ops.trades", "ops.custodian_confirmations", "ops.settlement_outcomes"},
            {"reporting.recon_breaks"},
        ),
        ("recon/delete_breaks.sql", set(), {"reporting.recon_breaks"}),
        (
            "alerts/high_risk_unmatched_settling_next_day.sql",
            {"ml.trade_scores", "reporting.recon_breaks"},
            set(),
        ),
        ("alerting/merge_alerts.sql", set(), {"reporting.alerts"}),
        ("events/store_event.sql", set(), {"events.outbox"}),
        ("feed/insert_quarantine.sql", set(), {"reporting.quarantine"}),
        ("statements/record_delivery.sql", set(), {"ops.statement_deliveries"}),
    ],
)
def test_a_statement_reports_the_project_tables_it_reads_and_writes(sql_file, reads, writes):
    # As run: a work table's identifier composed in where the file has its placeholder.
    inputs, outputs = lineage.tables_of(re.sub(r"\{\w+\}", "work_table", read_sql(sql_file)))

    assert reads <= set(inputs)
    assert set(outputs) == writes


def test_work_tables_and_catalogs_are_not_lineage():
    inputs, outputs = lineage.tables_of(read_sql("feed/trades/check_text.sql"))

    assert (inputs, outputs) == ((), ())  # landed_text -> rejected_rows: the load's temporary tables


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("COPY ops.trades (trade_id, isin) FROM STDIN", ((), ("ops.trades",))),
        ('COPY "ml"."trade_scores" TO STDOUT', (("ml.trade_scores",), ())),
        (
            "COPY (SELECT t.trade_id FROM ops.trades t JOIN ml.trade_scores s USING (trade_id)) TO STDOUT",
            (("ml.trade_scores", "ops.trades"), ()),
        ),
        ("COPY landed_rows FROM STDIN", ((), ())),
        (
            "-- the first load of a day\n-- is a plain COPY\nCOPY ops.trades (trade_id) FROM STDIN",
            ((), ("ops.trades",)),
        ),
    ],
)
def test_copy_statements_report_their_table_or_query(statement, expected):
    assert lineage.tables_of(statement) == expected


def test_a_statement_the_parser_cannot_read_reports_nothing_and_raises_nothing(collector):
    lineage.report_statement("THIS IS NOT SQL %(x)s", connection=None)

    assert collector.inputs == collector.outputs == []


def test_a_statement_reports_through_the_collector_as_warehouse_assets(collector):
    lineage.report_statement(read_sql("recon/delete_breaks.sql"), connection=None)

    assert collector.outputs == ["postgres://warehouse-db:5432/warehouse/reporting/recon_breaks"]


def test_reporting_never_fails_the_task(monkeypatch):
    def broken() -> Any:
        raise RuntimeError("collector unavailable")

    monkeypatch.setattr(lineage, "_collector", broken)

    lineage.report_topics(written=("ops.alerts",))  # logged, not raised


@pytest.mark.parametrize(
    ("dataset", "converter"),
    [
        (lineage_names.table("ops.trades"), "airflow.providers.postgres.assets.postgres"),
        (
            lineage_names.s3_object("markets-ops", "reports/recon/business_date=2026-11-27/x.csv"),
            "airflow.providers.amazon.aws.assets.s3",
        ),
        (lineage_names.topic("ops.alerts"), "airflow.providers.apache.kafka.assets.kafka"),
    ],
)
def test_the_providers_convert_the_reported_assets_back_to_the_same_datasets(dataset, converter):
    import importlib

    from airflow.sdk import Asset

    converted = importlib.import_module(converter).convert_asset_to_openlineage(
        Asset(uri=lineage.asset_uri(dataset)), None
    )

    assert (converted.namespace, converted.name) == (dataset.namespace, dataset.name)


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("landing/trades/business_date=2026-11-27/trades.csv.gz", "landing/trades"),
        (
            "landing/custodian_statements/HSBCSS/business_date=2026-11-27/HSBCSS.csv.gz",
            "landing/custodian_statements/HSBCSS",
        ),
        ("scores/business_date=2026-11-27/run=abc/part-0.parquet", "scores"),
        ("top.json", "/"),
    ],
)
def test_an_object_belongs_to_the_dataset_of_its_key_prefix(key, prefix):
    assert lineage_names.s3_prefix_of(key) == prefix


def test_an_s3_client_reports_what_it_gets_and_puts(collector):
    import boto3
    from botocore.stub import Stubber

    client = lineage.track_s3(
        boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    )
    with Stubber(client) as stub:
        stub.add_response("get_object", {}, {"Bucket": "b", "Key": "landing/trades/business_date=D/t.csv"})
        stub.add_response(
            "put_object", {}, {"Bucket": "b", "Key": "reports/recon/business_date=D/r.csv", "Body": b"x"}
        )
        client.get_object(Bucket="b", Key="landing/trades/business_date=D/t.csv")
        client.put_object(Bucket="b", Key="reports/recon/business_date=D/r.csv", Body=b"x")

    assert collector.inputs == ["s3://b/landing/trades"]
    assert collector.outputs == ["s3://b/reports/recon"]


def test_outside_a_task_nothing_is_collected():
    assert lineage.in_task() is False


def test_a_tracked_connection_reports_through_both_kinds_of_cursor():
    import psycopg

    class Connection:
        cursor_factory: type = psycopg.Cursor
        server_cursor_factory: type = psycopg.ServerCursor

    connection = lineage.track_statements(Connection())

    assert issubclass(connection.cursor_factory, psycopg.Cursor)
    assert issubclass(connection.server_cursor_factory, psycopg.ServerCursor)
    assert connection.cursor_factory is not psycopg.Cursor
    assert connection.server_cursor_factory is not psycopg.ServerCursor
