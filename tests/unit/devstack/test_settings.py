"""Variables read from airflow_settings.yaml (what the local stack's DAGs are given)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import settings

SETTINGS = """
airflow:
  connections:
    - conn_id: s3_markets
      conn_type: aws
      conn_password: ${S3_SECRET}
  variables:
    - variable_name: shards
      variable_value: "3"
    - variable_name: thresholds
      variable_value: {"high": 0.25}
"""


def test_a_variable_is_read_as_the_stack_is_given_it(tmp_path: Path) -> None:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(SETTINGS)
    assert settings.variable("shards", path) == "3"
    assert settings.variable("thresholds", path) == '{"high": 0.25}'  # JSON, as load() applies it


def test_an_unknown_variable_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(SETTINGS)
    with pytest.raises(settings.SettingsError, match="no variable 'missing'"):
        settings.variable("missing", path)


def test_the_project_sets_the_scoring_shard_count() -> None:
    from include.markets_ops.scoring.plan import SHARDS_VARIABLE

    assert int(settings.variable(SHARDS_VARIABLE)) >= 1


def test_the_statement_watchers_kafka_connection_carries_the_client_timeouts() -> None:
    """The Kafka provider builds the watcher's consumer from the connection's extra alone (the
    project's own clients add the timeouts themselves: settlement_model/timeouts.py)."""
    import yaml
    from settlement_model import timeouts

    from include.markets_ops.airflow.watchers import STATEMENT_WATCHER_CONN_ID

    document = yaml.safe_load(settings.SETTINGS_FILE.read_text())
    (extra,) = [
        item["conn_extra"]
        for item in document["airflow"]["connections"]
        if item["conn_id"] == STATEMENT_WATCHER_CONN_ID
    ]
    bounds = timeouts.kafka_client_timeouts()
    assert {name: int(extra[name]) for name in bounds} == bounds
