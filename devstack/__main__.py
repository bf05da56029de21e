"""The local stack: ``python -m devstack up|down|status|settings`` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from devstack import airflow, kafka, mlflow, postgres, s3, stack_env
from devstack.airflow_api import AirflowApi
from devstack.config import REPO, S3_BUCKET, STACK_ENV_FILE, Stack
from devstack.process import StackError, port_is_free, recorded_pid
from include.markets_ops.topics import ALL_TOPICS

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
    "kafka": ("kafka", "kafka_controller"),
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


def up(stack: Stack) -> None:
    check_ports(stack)
    steps: list[tuple[str, Callable[[Stack], None]]] = [
        ("postgres", postgres.start),
        ("warehouse schema", migrate_warehouse),
        ("s3", s3.start),
        ("kafka", kafka.start),
        ("mlflow", mlflow.start),
        ("airflow", airflow.start),
        ("airflow settings", apply_settings),
    ]
    for label, step in steps:
        started = time.monotonic()
        step(stack)
        print(f"  {label:<18} ready ({time.monotonic() - started:4.1f}s)", flush=True)
    print_where_to_look(stack)


def migrate_warehouse(stack: Stack) -> None:
    """Bring the warehouse schema to the latest Alembic revision (as the owner role)."""
    from include.markets_ops.warehouse.migrate import upgrade_to_head

    upgrade_to_head(stack.pg_url("warehouse_owner", "warehouse", driver="postgresql+psycopg"))


def apply_settings(stack: Stack) -> None:
    stack_env.write(stack)
    values = stack_env.stack_values(stack)
    api = AirflowApi(stack.airflow_url, values["AIRFLOW_USERNAME"], values["AIRFLOW_PASSWORD"])
    from devstack import settings

    settings.apply(api, REPO / "airflow_settings.yaml", values)


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
    print(
        f"""
  Airflow UI     {stack.airflow_url}   login: {values["AIRFLOW_USERNAME"]} / {values["AIRFLOW_PASSWORD"]}
  MLflow UI      {stack.mlflow_uri}
  S3             {stack.s3_endpoint}   bucket: s3://{S3_BUCKET}
  Kafka          {stack.kafka_bootstrap}   topics: {topics}
  PostgreSQL     127.0.0.1:{stack.ports["postgres"]}   databases: warehouse, airflow, mlflow
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
            apply_settings(stack)
        elif args.command == "where":
            print_where_to_look(stack)
    except StackError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
