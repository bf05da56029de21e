"""Which deployment settings Airflow's processes get, and when `make up` restarts them: the job
runtime (JOB_RUNTIME) and, with the local cluster up, the lane's MODEL_POD_* settings and check
DAGs. Nothing here starts a process."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devstack import airflow
from devstack.config import Stack, StackSecrets
from devstack.k8s import cluster
from devstack.process import StackError

LANE = {"MODEL_POD_IMAGE": "localhost/markets-ops/settlement-model:0.1.0-abc@sha256:" + "1" * 64}


@pytest.fixture
def stack() -> Stack:
    names = ("airflow_fernet_key", "airflow_api_secret_key", "airflow_jwt_secret", "pg_airflow")
    return Stack(StackSecrets(dict.fromkeys(names, "x")))


@pytest.fixture
def airflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(airflow, "AIRFLOW_HOME", tmp_path)
    monkeypatch.setattr(airflow, "DEPLOYMENT_FILE", tmp_path / "deployment.json")
    return tmp_path


def test_the_kubernetes_runtime_without_the_cluster_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOB_RUNTIME", "kubernetes")
    monkeypatch.setattr(cluster, "read_deployment", lambda: {})
    with pytest.raises(
        StackError, match=r"JOB_RUNTIME=kubernetes, but the local Kubernetes cluster is not up: .*make k8s-up"
    ):
        airflow.deployment_settings()


def test_the_lane_settings_reach_airflow_whatever_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "read_deployment", lambda: dict(LANE))
    monkeypatch.setenv("JOB_RUNTIME", " Kubernetes ")
    lineage_on = {"AIRFLOW__OPENLINEAGE__DISABLED": "False"}
    assert airflow.deployment_settings() == {"JOB_RUNTIME": "kubernetes", **lineage_on, **LANE}
    monkeypatch.delenv("JOB_RUNTIME")
    assert airflow.deployment_settings() == {"JOB_RUNTIME": "local", **lineage_on, **LANE}


def test_lineage_is_on_unless_the_caller_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "read_deployment", lambda: {})
    monkeypatch.delenv("JOB_RUNTIME", raising=False)
    monkeypatch.setenv("LINEAGE", "off")
    assert airflow.deployment_settings()["AIRFLOW__OPENLINEAGE__DISABLED"] == "True"
    monkeypatch.setenv("LINEAGE", "sometimes")
    with pytest.raises(StackError, match=r"LINEAGE='sometimes': on \(the default\) or off"):
        airflow.deployment_settings()


def test_the_lane_check_dags_are_a_bundle_only_while_the_cluster_is_up() -> None:
    assert [b["name"] for b in airflow.dag_bundles({"JOB_RUNTIME": "local"})] == ["dags-folder"]
    bundles = airflow.dag_bundles({"JOB_RUNTIME": "local", **LANE})
    assert [b["name"] for b in bundles] == ["dags-folder", "kubernetes-lane-checks"]
    assert bundles[1]["kwargs"] == {"path": str(airflow.LANE_CHECKS_DIR)}
    assert (airflow.LANE_CHECKS_DIR / "kubernetes_lane_checks.py").exists()


def test_a_restart_is_due_when_a_setting_or_the_configuration_changed(
    stack: Stack, airflow_home: Path
) -> None:
    started_with = {"JOB_RUNTIME": "local"}
    airflow.DEPLOYMENT_FILE.write_text(json.dumps(started_with))
    (airflow_home / "airflow.cfg").write_text(airflow.airflow_cfg(stack, started_with))
    assert airflow._changed_since_start(stack, started_with) == []

    now = {"JOB_RUNTIME": "kubernetes", **LANE}
    assert airflow._changed_since_start(stack, now) == ["JOB_RUNTIME", "MODEL_POD_IMAGE", "airflow.cfg"]

    (airflow_home / "airflow.cfg").write_text("# edited by hand\n")
    assert airflow._changed_since_start(stack, started_with) == ["airflow.cfg"]


def test_the_callers_airflow_environment_never_reaches_the_stack(
    stack: Stack, airflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test process points its own Airflow at SQLite through AIRFLOW__DATABASE__...: a stack
    restarted from a test must still run on its PostgreSQL metadata database."""
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////tmp/tests.db")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", "postgresql://elsewhere")
    monkeypatch.setenv("MODEL_POD_IMAGE", "someone/else:1")
    env = airflow.process_env(stack, {"JOB_RUNTIME": "local"})
    assert [key for key in env if key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "MODEL_POD_"))] == []
    assert env["AIRFLOW_CONFIG"] == str(airflow_home / "airflow.cfg")
    assert env["JOB_RUNTIME"] == "local"


def test_a_login_per_role_each_with_its_own_generated_password(stack: Stack) -> None:
    import configparser

    config = configparser.ConfigParser(interpolation=None)
    config.read_string(airflow.airflow_cfg(stack, {}))
    assert config["core"]["simple_auth_manager_users"] == "viewer:viewer,user:user,op:op,admin:admin"

    secrets = {f"airflow_{name}_password": f"pw-{name}" for name in ("viewer", "user", "op", "admin")}
    passwords = airflow.role_passwords(Stack(StackSecrets(secrets)))
    assert passwords == {"viewer": "pw-viewer", "user": "pw-user", "op": "pw-op", "admin": "pw-admin"}


def test_the_generated_secrets_include_every_roles_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import config

    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "secrets.json")
    monkeypatch.setattr(config, "VAR", tmp_path)
    generated = config.StackSecrets.load_or_create()
    passwords = [generated[f"airflow_{name}_password"] for name in airflow.ROLE_USERS]
    assert len(set(passwords)) == len(airflow.ROLE_USERS)
    assert all(len(password) == 32 for password in passwords)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_the_event_producer_finds_its_kafka_connection_in_the_environment() -> None:
    """Not in the metadata database: the scheduler's lookup there closes its loop's session."""
    generated = "pw-pipelines"
    secrets = StackSecrets({"kafka_pipelines_password": generated})
    [(name, value)] = airflow.event_producer_connection(Stack(secrets)).items()

    assert name == "AIRFLOW_CONN_KAFKA_MARKETS"
    connection = json.loads(value)
    assert connection["conn_type"] == "kafka"
    assert connection["extra"]["sasl.username"] == "pipelines"
    assert connection["extra"]["sasl.password"] == generated
    assert connection["extra"]["bootstrap.servers"].startswith("127.0.0.1:")


def test_lineage_goes_through_the_projects_transport_as_the_lineage_user() -> None:
    """From the environment, as the event producer's: the scheduler looks it up for DAG runs."""
    secrets = StackSecrets({"kafka_lineage_password": "pw-lineage", "pg_ops_events_writer": "pw-outbox"})
    [(name, value)] = airflow.lineage_connection(Stack(secrets)).items()

    transport = json.loads(value)["extra"]["transport"]
    assert name == "AIRFLOW_CONN_OPENLINEAGE"
    assert transport["type"] == "settlement_model.lineage_transport.KafkaWithOutboxTransport"
    assert transport["topic"] == "openlineage.events"
    assert (transport["config"]["sasl.username"], transport["config"]["sasl.password"]) == (
        "lineage",
        "pw-lineage",
    )
    outbox = urlsplit(transport["outbox_url"])
    assert (outbox.username, outbox.password, outbox.hostname) == (
        "ops_events_writer",
        "pw-outbox",
        "127.0.0.1",
    )


def test_the_image_turns_the_event_producer_and_lineage_on_as_the_local_stack_does(stack: Stack) -> None:
    import configparser
    import re

    config = configparser.ConfigParser(interpolation=None)
    config.read_string(airflow.airflow_cfg(stack, {}))
    dockerfile = (Path(__file__).resolve().parents[3] / "Dockerfile").read_text()
    in_image = {
        key.lower(): value
        for key, value in re.findall(r"AIRFLOW__KAFKA_EVENT_PRODUCER__([A-Z_]+)=(\S+)", dockerfile)
    }
    assert in_image == dict(config["kafka_event_producer"])
    lineage_in_image = {
        key.lower(): value.strip("'")
        for key, value in re.findall(r"AIRFLOW__OPENLINEAGE__([A-Z_]+)=(\S+)", dockerfile)
    }
    assert lineage_in_image == dict(config["openlineage"])
