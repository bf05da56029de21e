"""Airflow 3.3 on the PostgreSQL metadata database: api-server, scheduler, dag-processor, triggerer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from settlement_model import lineage_names

from devstack.config import HOST, REPO, VAR, Stack
from devstack.kafka import LINEAGE_USER, PIPELINES_USER
from devstack.process import (
    StackError,
    log_file,
    private_file,
    recorded_pid,
    start_detached,
    stop_group,
    tail,
    wait_until,
    write_private,
)
from include.markets_ops.airflow.lineage import LINEAGE_CONN_ID
from include.markets_ops.services.kafka import KAFKA_CONN_ID
from include.markets_ops.services.topics import AIRFLOW_EVENTS, LINEAGE_EVENTS

AIRFLOW_HOME = VAR / "airflow"
PASSWORDS_FILE = AIRFLOW_HOME / "simple_auth_manager_passwords.json"
ADMIN_USER = "admin"
# One login per role of the simple auth manager, so what each role may see can be tried (the
# dashboard's tests log in as each). Passwords generated per checkout (var/secrets.json:
# airflow_<user>_password), never in the repository.
ROLE_USERS = {"viewer": "viewer", "user": "user", "op": "op", ADMIN_USER: "admin"}
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CLI_LOG = log_file("airflow-cli")  # output of the one-off commands (`airflow db migrate`)


LANE_CHECKS_DIR = REPO / "tests" / "kubernetes" / "dags"


def dag_bundles(deployment: dict[str, str]) -> list[dict[str, object]]:
    """The project's DAGs; with the local cluster up, also the lane's check DAGs (one per pod
    lifecycle case, run by tests/kubernetes and by anyone checking a cluster from the UI)."""
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles: list[dict[str, object]] = [
        {"name": "dags-folder", "classpath": local, "kwargs": {"path": str(REPO / "dags")}}
    ]
    if deployment.get("MODEL_POD_IMAGE"):
        bundles.append(
            {"name": "kubernetes-lane-checks", "classpath": local, "kwargs": {"path": str(LANE_CHECKS_DIR)}}
        )
    return bundles


def airflow_cfg(stack: Stack, deployment: dict[str, str] | None = None) -> str:
    api = stack.airflow_url
    settings: dict[str, dict[str, str]] = {
        "core": {
            "dags_folder": str(REPO / "dags"),
            "plugins_folder": str(REPO / "plugins"),
            "executor": "LocalExecutor",
            # LocalExecutor starts `parallelism` worker processes: sized for 2 cores.
            "parallelism": "4",
            "max_active_tasks_per_dag": "4",
            "load_examples": "False",
            "dags_are_paused_at_creation": "True",
            "fernet_key": stack.secrets["airflow_fernet_key"],
            "auth_manager": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "simple_auth_manager_users": ",".join(f"{name}:{role}" for name, role in ROLE_USERS.items()),
            "simple_auth_manager_passwords_file": str(PASSWORDS_FILE),
            "execution_api_server_url": f"{api}/execution/",
            "default_timezone": "utc",
            # Every task process parses its DAG file again, and on 2 busy cores a DAG file of the
            # Kubernetes runtime (the provider and its client: 4 s on an idle machine) can take
            # longer than the 30 s default: the task would be rescheduled, over and over.
            "dagbag_import_timeout": "120",
        },
        "database": {
            "sql_alchemy_conn": stack.pg_url("airflow", "airflow", driver="postgresql+psycopg2"),
            "sql_alchemy_pool_size": "5",
        },
        "api": {
            "host": HOST,
            "port": str(stack.ports["airflow_api"]),
            "base_url": api,
            "secret_key": stack.secrets["airflow_api_secret_key"],
            "workers": "1",
            "expose_config": "False",
        },
        "api_auth": {"jwt_secret": stack.secrets["airflow_jwt_secret"]},
        "logging": {
            "base_log_folder": str(AIRFLOW_HOME / "logs"),
            "worker_log_server_port": str(stack.ports["airflow_worker_log"]),
            "trigger_log_server_port": str(stack.ports["airflow_trigger_log"]),
        },
        "dag_processor": {
            "dag_file_processor_timeout": "180",
            # New and changed DAG files show up within seconds: the folder is listed every 10 s,
            # and a new file or one modified since its last parse is parsed at once (files are
            # queued by modification time). Unchanged files are parsed again only every 5 minutes:
            # at 15 s the dag processor was the busiest process of a test run (a quarter of a core,
            # re-importing the providers for files that had not changed).
            "refresh_interval": "10",
            "min_file_process_interval": "300",
            "dag_bundle_config_list": json.dumps(dag_bundles(deployment or {})),
        },
        "scheduler": {
            "standalone_dag_processor": "True",
            "scheduler_heartbeat_sec": "2",
            # A scheduler that died (with its LocalExecutor's workers) leaves its tasks running in
            # the database: the next one resets them within a minute, not the default five
            # (tests/integration/test_fault_injection_pipelines.py).
            "orphaned_tasks_check_interval": "30",
            "task_instance_heartbeat_timeout": "120",
        },
        "triggerer": {"capacity": "100"},
        # The apache-kafka provider's event producer: a message on ops.airflow.events for every
        # DAG run and task instance state change (docs/events.md), through the pipelines' Kafka
        # connection. Best effort by design: the project's failure and lateness events, which
        # must not be lost, go through the outbox (include/markets_ops/airflow/callbacks.py).
        "kafka_event_producer": {
            "dag_run_events_enabled": "True",
            "task_instance_events_enabled": "True",
            "kafka_config_id": KAFKA_CONN_ID,
            "topic": AIRFLOW_EVENTS.name,
            "source": "markets-ops/airflow",
            # Each process checks the topic once; with the broker down that check, not the task,
            # waits (3 s instead of 10), and is tried again a minute later.
            "topic_check_timeout": "3",
        },
        # OpenLineage (docs/lineage.md): every task's and DAG run's events on openlineage.events,
        # through the transport of the `openlineage` connection (lineage_connection below).
        "openlineage": {
            "namespace": lineage_names.JOB_NAMESPACE,
            "config_conn_id": LINEAGE_CONN_ID,
            # Emit from a thread of the task's process, not a forked child: the transport's
            # producer (and its connection) then serves the task's START and COMPLETE both.
            "execute_in_thread": "True",
            # The events carry what the tasks read and write, not their source code.
            "emission_policy": json.dumps(
                [{"scope": {}, "controls": {"include_source_code": False}}], separators=(",", ":")
            ),
        },
    }
    lines = ["# Generated by `make up` (devstack/airflow.py) for the local stack. Do not edit.\n"]
    for section, values in settings.items():
        lines.append(f"\n[{section}]\n")
        lines += [f"{key} = {value}\n" for key, value in values.items()]
    return "".join(lines)


def deployment_settings() -> dict[str, str]:
    """The deployment settings Airflow's processes read when they parse the DAG files: the job
    runtime (JOB_RUNTIME, from the caller's environment), whether lineage is emitted (LINEAGE,
    on unless the caller says off) and, when the local cluster is up, where
    the model pods run there (MODEL_POD_*, written by make k8s-up). A change to any of them
    restarts Airflow's components (start), so that the DAGs are parsed again with them."""
    from devstack.k8s import cluster

    runtime = os.environ.get("JOB_RUNTIME", "local").strip().lower() or "local"
    lane = cluster.read_deployment()
    if runtime == "kubernetes" and not lane:
        raise StackError(
            "JOB_RUNTIME=kubernetes, but the local Kubernetes cluster is not up: start it with "
            "`make k8s-up` (or unset JOB_RUNTIME to run the model jobs as local processes)"
        )
    lineage = os.environ.get("LINEAGE", "on").strip().lower() or "on"
    if lineage not in ("on", "off"):
        raise StackError(f"LINEAGE={lineage!r}: on (the default) or off")
    # Off: the provider emits nothing and the clients collect nothing (benchmarks/bench_lineage.py).
    return {"JOB_RUNTIME": runtime, "AIRFLOW__OPENLINEAGE__DISABLED": str(lineage == "off"), **lane}


def process_env(stack: Stack, deployment: dict[str, str] | None = None) -> dict[str, str]:
    # Nothing of the caller's Airflow environment: an AIRFLOW__* variable overrides airflow.cfg
    # (the test process points its own Airflow at a throwaway SQLite database that way), and
    # the stack's connections and Variables live in its metadata database.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "MODEL_POD_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW_CONFIG": str(AIRFLOW_HOME / "airflow.cfg"),
            # Astronomer layout: `include` and the pod package import from the project root.
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "model_pod")]),
            "NO_PROXY": "*",
        }
    )
    env.update(deployment_settings() if deployment is None else deployment)
    return env


def event_producer_connection(stack: Stack) -> dict[str, str]:
    """The apache-kafka provider's event producer looks its connection up inside the scheduler's
    loop; a lookup in the metadata database there closes the loop's own session (Airflow 3.3:
    DetachedInstanceError on the DagRun being started, and the scheduler exits). From the
    environment, the lookup never touches the database. The same connection as the metadata
    database's kafka_markets (airflow_settings.yaml), from the same generated secrets."""
    connection = {"conn_type": "kafka", "extra": stack.kafka_client(PIPELINES_USER)}
    return {f"AIRFLOW_CONN_{KAFKA_CONN_ID.upper()}": json.dumps(connection)}


def lineage_client_config(stack: Stack) -> dict[str, Any]:
    """The OpenLineage client's configuration: the project's transport (Kafka as the lineage
    user; the outbox as ops_events_writer when Kafka does not acknowledge within 3 s), emitted
    outside the task's own work, bounded by the provider's [openlineage] execution_timeout."""
    transport = {
        "type": "settlement_model.lineage_transport.KafkaWithOutboxTransport",
        "topic": LINEAGE_EVENTS.name,
        "config": stack.kafka_client(LINEAGE_USER),
        "outbox_url": stack.pg_url("ops_events_writer", "warehouse"),
        "delivery_timeout_seconds": 3,
    }
    return {"transport": transport}


def lineage_connection(stack: Stack) -> dict[str, str]:
    """The provider looks ``config_conn_id`` up in the scheduler's loop too (DAG run events): from
    the environment, as the event producer's, never from the metadata database."""
    connection = {"conn_type": "generic", "extra": lineage_client_config(stack)}
    return {f"AIRFLOW_CONN_{LINEAGE_CONN_ID.upper()}": json.dumps(connection)}


def _airflow_bin() -> str:
    return str(Path(sys.executable).parent / "airflow")


def run_cli(stack: Stack, *args: str, timeout: float = 600) -> None:
    """Run a one-off `airflow` command, its output appended to var/log/airflow-cli.log."""
    command = f"airflow {' '.join(args)}"
    with private_file(CLI_LOG).open("ab") as log:
        log.write(f"\n===== {time.strftime('%F %T')} running: {command}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                [_airflow_bin(), *args],
                env=process_env(stack),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise StackError(
                f"`{command}` did not finish within {timeout:g}s; see its log: {CLI_LOG}"
            ) from error
    if result.returncode != 0:
        raise StackError(
            f"`{command}` failed (exit code {result.returncode}); see its log: {CLI_LOG}\n" + tail(CLI_LOG)
        )


def prepare(stack: Stack, deployment: dict[str, str] | None = None) -> None:
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    # airflow.cfg holds the metadata database's password, the Fernet key and the API's secrets.
    write_private(AIRFLOW_HOME / "airflow.cfg", airflow_cfg(stack, deployment))
    # The logins are generated per checkout (var/secrets.json) and written where the
    # SimpleAuthManager reads them, so `make up` can print them and scripts can use them.
    write_private(PASSWORDS_FILE, json.dumps(role_passwords(stack)) + "\n")
    run_cli(stack, "db", "migrate")


def role_passwords(stack: Stack) -> dict[str, str]:
    return {name: stack.secrets[f"airflow_{name}_password"] for name in ROLE_USERS}


DEPLOYMENT_FILE = AIRFLOW_HOME / "deployment.json"  # the settings the running components started with


def _changed_since_start(stack: Stack, deployment: dict[str, str]) -> list[str]:
    """What differs from what the running components started with: deployment settings by
    name, and airflow.cfg (the project's configuration of Airflow changed in the checkout)."""
    started_with = json.loads(DEPLOYMENT_FILE.read_text()) if DEPLOYMENT_FILE.exists() else {}
    changed = sorted(
        k for k in deployment.keys() | started_with.keys() if deployment.get(k) != started_with.get(k)
    )
    config = AIRFLOW_HOME / "airflow.cfg"
    if not config.exists() or config.read_text() != airflow_cfg(stack, deployment):
        changed.append("airflow.cfg")
    return changed


def start(stack: Stack) -> None:
    deployment = deployment_settings()
    running = [c for c in COMPONENTS if recorded_pid(f"airflow-{c}")]
    if running and (changed := _changed_since_start(stack, deployment)):
        print(f"  airflow: restarting its components for new settings ({', '.join(changed)})", flush=True)
        stop()
        running = []
    if len(running) < len(COMPONENTS):
        prepare(stack, deployment)
    DEPLOYMENT_FILE.write_text(json.dumps(deployment, indent=2, sort_keys=True) + "\n")
    env = {**process_env(stack, deployment), **event_producer_connection(stack), **lineage_connection(stack)}
    for component in COMPONENTS:
        name = f"airflow-{component}"
        if recorded_pid(name):
            continue
        start_detached(name, [_airflow_bin(), component], env=env, cwd=AIRFLOW_HOME)
    wait_until(
        "airflow-api-server", lambda: _api_answers(stack), timeout=180, pid=recorded_pid("airflow-api-server")
    )
    wait_until("airflow-scheduler", lambda: _component_healthy(stack, "scheduler"), timeout=120)
    wait_until("airflow-triggerer", lambda: _component_healthy(stack, "triggerer"), timeout=120)
    wait_until("airflow-dag-processor", lambda: _component_healthy(stack, "dag_processor"), timeout=120)


def _health(stack: Stack) -> dict[str, dict[str, str]]:
    import requests

    response = requests.get(f"{stack.airflow_url}/api/v2/monitor/health", timeout=5)
    response.raise_for_status()
    return response.json()


def _api_answers(stack: Stack) -> bool:
    return _health(stack)["metadatabase"]["status"] == "healthy"


def _component_healthy(stack: Stack, component: str) -> bool:
    return _health(stack).get(component, {}).get("status") == "healthy"


def stop() -> bool:
    stopped = False
    # Scheduler first, so it does not see the api-server vanish under running tasks.
    for component in ("scheduler", "triggerer", "dag-processor", "api-server"):
        stopped |= stop_group(f"airflow-{component}", timeout=45)
    return stopped
