"""The local stack: ``python -m devstack up|down|status|settings`` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack import airflow, kafka, mlflow, postgres, s3, stack_env
from devstack.airflow_api import AirflowApi
from devstack.config import LOG_DIR, REPO, S3_BUCKET, STACK_ENV_FILE, Stack
from devstack.process import StackError, log_file, port_is_free, private_file, recorded_pid
from include.markets_ops.services.topics import ALL_TOPICS

# service -> the ports it listens on (checked before it starts)
SERVICE_PORTS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgres",),
    "s3": tuple(
        name
        for name in (
            "s3",
            "s3_grpc",
            "seaweed_master",
            "seaweed_master_grpc",
            "seaweed_volume",
            "seaweed_volume_grpc",
            "seaweed_filer",
            "seaweed_filer_grpc",
            "seaweed_admin",
            "seaweed_admin_grpc",
        )
    ),
    "kafka": ("kafka", "kafka_controller", "kafka_broker"),
    "mlflow": ("mlflow",),
    "airflow-api-server": ("airflow_api",),
    "airflow-scheduler": ("airflow_worker_log",),
    "airflow-triggerer": ("airflow_trigger_log",),
    "airflow-dag-processor": (),
}


def check_ports(stack: Stack) -> None:
    """Fail before starting anything if a port a stopped service needs is taken by another program."""
    busy = []
    for service, names in SERVICE_PORTS.items():
        running = postgres.is_running() if service == "postgres" else recorded_pid(service) is not None
        if running:
            continue
        for name in names:
            if not port_is_free(stack.ports[name]):
                busy.append(f"{stack.ports[name]} ({service}; override with STACK_{name.upper()}_PORT)")
    if busy:
        raise StackError("ports already in use by another program: " + ", ".join(busy))


@dataclass(frozen=True)
class Step:
    """One step of `make up`, and the log file to read when it fails."""

    label: str
    run: Callable[[Stack], None]
    log: Path


WAREHOUSE_MIGRATIONS_LOG = log_file("warehouse-migrations")
AIRFLOW_SETTINGS_LOG = log_file("airflow-settings")


def up(stack: Stack) -> None:
    check_ports(stack)
    for step in up_steps():
        started = time.monotonic()
        run_step(step, stack)
        print(f"  {step.label:<18} ready ({time.monotonic() - started:4.1f}s)", flush=True)
    print_where_to_look(stack)


def up_steps() -> list[Step]:
    return [
        Step("postgres", postgres.start, log_file(postgres.NAME)),
        Step("warehouse schema", migrate_warehouse, WAREHOUSE_MIGRATIONS_LOG),
        Step("s3", s3.start, log_file(s3.NAME)),
        Step("kafka", kafka.start, log_file(kafka.NAME)),
        Step("mlflow", mlflow.start, log_file(mlflow.NAME)),
        # Its components' health waits name their own logs (var/log/airflow-<component>.log).
        Step("airflow", airflow.start, airflow.CLI_LOG),
        Step("airflow settings", apply_settings, AIRFLOW_SETTINGS_LOG),
    ]


def run_step(step: Step, stack: Stack) -> None:
    """Run one step; any failure becomes a StackError naming the step and its log file,
    never a bare traceback on the terminal (the traceback goes into that log)."""
    try:
        step.run(stack)
    except StackError as error:
        message = str(error)
        if str(LOG_DIR) not in message:  # health waits and the CLI name their log already
            message += f"\n  see its log: {step.log}"
        raise StackError(f"{step.label} failed: {message}") from error
    except Exception as error:
        step.log.parent.mkdir(parents=True, exist_ok=True)
        with step.log.open("a") as log:
            log.write(f"\n===== {time.strftime('%F %T')} {step.label} failed:\n{traceback.format_exc()}")
        raise StackError(
            f"{step.label} failed: {type(error).__name__}: {error}\n  the traceback is in its log: {step.log}"
        ) from error


@contextlib.contextmanager
def logging_to(path: Path, logger_name: str) -> Iterator[None]:
    """Send one library's INFO log records to ``path`` for the duration of a step."""
    handler = logging.FileHandler(private_file(path))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(logger_name)
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()


def migrate_warehouse(stack: Stack) -> None:
    """Bring the warehouse schema to the latest Alembic revision (as the owner role)."""
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    with logging_to(WAREHOUSE_MIGRATIONS_LOG, "alembic"):
        upgrade_to_head(stack.pg_url("warehouse_owner", "warehouse", driver="postgresql+psycopg"))


def apply_settings(stack: Stack) -> None:
    stack_env.write(stack)
    values = stack_env.stack_values(stack)
    api = AirflowApi(stack.airflow_url, values["AIRFLOW_USERNAME"], values["AIRFLOW_PASSWORD"])
    from devstack import settings

    applied = settings.apply(api, REPO / "airflow_settings.yaml", values)
    with private_file(AIRFLOW_SETTINGS_LOG).open("a") as log:
        log.write(f"{time.strftime('%F %T')} applied {applied} from airflow_settings.yaml\n")


def down() -> None:
    # Reverse order of start: clients before the servers they talk to.
    for label, stop in (
        ("airflow", airflow.stop),
        ("mlflow", mlflow.stop),
        ("kafka", kafka.stop),
        ("s3", s3.stop),
        ("postgres", postgres.stop),
    ):
        print(f"  {label:<10} {'stopped' if stop() else 'was not running'}", flush=True)


def status(stack: Stack) -> int:
    rows = [
        (
            "postgres",
            "running" if postgres.is_running() else "stopped",
            f"127.0.0.1:{stack.ports['postgres']}",
        )
    ]
    for service, names in SERVICE_PORTS.items():
        if service == "postgres":
            continue
        pid = recorded_pid(service)
        address = f"127.0.0.1:{stack.ports[names[0]]}" if names else ""
        rows.append((service, f"running (pid {pid})" if pid else "stopped", address))
    for service, state, address in rows:
        print(f"  {service:<22} {state:<22} {address}")
    if STACK_ENV_FILE.exists():
        print(f"\n  credentials and URLs: {STACK_ENV_FILE}")
    return 0 if all(state != "stopped" for _, state, _ in rows) else 3


def print_where_to_look(stack: Stack) -> None:
    values = stack_env.stack_values(stack)
    topics = ", ".join(topic.name for topic in ALL_TOPICS)
    mlflow_reader = values["MLFLOW_READER_USERNAME"]
    kafka_users = (
        f"{values['KAFKA_READER_USERNAME']} (reads), {values['KAFKA_USERNAME']} (writes the tasks' topics), "
        f"{values['KAFKA_SCORING_USERNAME']} and {values['KAFKA_CUSTODIANS_USERNAME']} (their own), "
        "lineage (openlineage.events: docs/lineage.md)"
    )
    print(
        f"""
  Airflow UI     {stack.airflow_url}   login: {values["AIRFLOW_USERNAME"]} / {values["AIRFLOW_PASSWORD"]}
                 also viewer, user, op (one per role): AIRFLOW_<NAME>_PASSWORD in var/stack.env
  MLflow UI      {stack.mlflow_uri}   login: {mlflow_reader} / {values["MLFLOW_READER_PASSWORD"]} (read-only)
  S3             {stack.s3_endpoint}   bucket: s3://{S3_BUCKET}
  Kafka          {stack.kafka_bootstrap}   SASL/SCRAM users: {kafka_users} (KAFKA_* in var/stack.env)
                 topics: {topics}
  PostgreSQL     127.0.0.1:{stack.ports["postgres"]}   databases: warehouse, airflow, mlflow, mlflow_auth
  Everything     {STACK_ENV_FILE}   (set -a; . var/stack.env; set +a)
""",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "settings", "where"])
    args = parser.parse_args(argv)
    try:
        if args.command == "down":
            down()
            return 0
        stack = Stack.load()
        if args.command == "up":
            up(stack)
        elif args.command == "status":
            return status(stack)
        elif args.command == "settings":
            run_step(Step("airflow settings", apply_settings, AIRFLOW_SETTINGS_LOG), stack)
        elif args.command == "where":
            print_where_to_look(stack)
    except StackError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
