"""The job contract: arguments, environment, exit codes; and no Airflow anywhere in the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from settlement_model import cli, contract

PACKAGE = Path(cli.__file__).resolve().parent


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


SCORE = [
    "score",
    "--business-date",
    "2026-11-20",
    "--run-id",
    "r",
    "--high-risk-threshold",
    "0.3",
    "--medium-risk-threshold",
    "0.1",
]


def test_a_job_without_its_environment_exits_with_the_usage_code(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in contract.CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert cli.main(SCORE) == contract.EXIT_USAGE


def test_thresholds_in_the_wrong_order_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "postgresql://x",
        "S3_BUCKET": "b",
        "MLFLOW_TRACKING_URI": "http://m",
        "KAFKA_BOOTSTRAP_SERVERS": "k:1",
    }.items():
        monkeypatch.setenv(name, value)
    swapped = [*SCORE[:-4], "--high-risk-threshold", "0.1", "--medium-risk-threshold", "0.3"]
    assert cli.main(swapped) == contract.EXIT_USAGE


def test_a_malformed_date_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(
            [
                "score",
                "--business-date",
                "20/11/2026",
                "--run-id",
                "r",
                "--high-risk-threshold",
                "0.3",
                "--medium-risk-threshold",
                "0.1",
            ]
        )
    assert exit_info.value.code == contract.EXIT_USAGE


def test_alias_and_version_cannot_both_be_given() -> None:
    with pytest.raises(SystemExit):
        cli.main([*SCORE, "--model-alias", "champion", "--model-version", "3"])


def test_a_refused_precondition_exits_with_the_refused_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_args: object) -> None:
        raise contract.RefusedError("model settlement_fail_risk has no alias 'champion'")

    monkeypatch.setitem(cli.JOBS, "score", refuse)
    assert cli.main(SCORE) == contract.EXIT_REFUSED


def test_an_unexpected_error_exits_non_zero_with_its_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "settlement_model", *SCORE],
        env={
            "PYTHONPATH": str(PACKAGE.parent),
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "S3_BUCKET": "b",
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:1",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == contract.EXIT_FAILED
    assert "Traceback" in completed.stderr


def test_the_package_never_imports_airflow() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    offenders = [
        str(p) for p in sources if "import airflow" in p.read_text() or "from airflow" in p.read_text()
    ]
    assert offenders == []
    modules = [f"settlement_model.{p.stem}" for p in sources if p.stem not in ("__init__", "__main__")]
    imported = "sorted(m for m in sys.modules if m.startswith('airflow'))"
    check = f"import sys; import {', '.join(modules)}; print({imported})"
    completed = subprocess.run(
        [sys.executable, "-c", check],
        env={"PYTHONPATH": str(PACKAGE.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert completed.stdout.strip() == "[]"
