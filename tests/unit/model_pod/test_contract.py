"""The job contract's environment half: variables named when missing, Kafka settings, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from settlement_model import contract


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(contract.ContractError, match="DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS"):
        contract.JobEnvironment.from_environ(("database", "kafka"), {"S3_BUCKET": "b"})


def test_the_kafka_bootstrap_servers_win_over_the_extra_settings() -> None:
    env = contract.JobEnvironment.from_environ(
        ("kafka",),
        {
            "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
            "KAFKA_CONFIG_JSON": '{"security.protocol": "SSL", "bootstrap.servers": "elsewhere:1"}',
        },
    )
    assert env.kafka_config == {"security.protocol": "SSL", "bootstrap.servers": "broker:9092"}


@pytest.mark.parametrize("raw", ["not json", "[1, 2]"])
def test_bad_kafka_extra_settings_are_a_contract_error(raw: str) -> None:
    with pytest.raises(contract.ContractError, match="KAFKA_CONFIG_JSON"):
        contract.JobEnvironment.from_environ(
            ("kafka",), {"KAFKA_BOOTSTRAP_SERVERS": "b:1", "KAFKA_CONFIG_JSON": raw}
        )


def test_the_work_dir_and_model_name_come_from_the_environment(tmp_path: Path) -> None:
    env = contract.JobEnvironment.from_environ(
        (), {"WORK_DIR": str(tmp_path), "MLFLOW_MODEL_NAME": "sandbox"}
    )
    assert env.work_dir == tmp_path
    assert env.model_name == "sandbox"
    assert contract.JobEnvironment.from_environ((), {}).model_name == "settlement_fail_risk"
