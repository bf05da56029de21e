"""``var/stack.env``: every URL, port and credential of the running stack, shell-sourceable.

``source var/stack.env`` and psql, kcat, the aws cli, MLflow's and Airflow's clients all
reach the stack. The same values fill the ``${...}`` placeholders of airflow_settings.yaml.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

from devstack import mlflow
from devstack.airflow import ADMIN_USER, AIRFLOW_HOME, ROLE_USERS
from devstack.config import HOST, REPO, S3_BUCKET, S3_REGION, STACK_ENV_FILE, Stack
from devstack.kafka import CUSTODIANS_USER, PIPELINES_USER, READER_USER, SCORING_USER
from devstack.process import write_private


def stack_values(stack: Stack) -> dict[str, str]:
    p = stack.ports
    s = stack.secrets
    values = {
        "STACK_HOST": HOST,
        "POSTGRES_HOST": HOST,
        "POSTGRES_PORT": str(p["postgres"]),
        "POSTGRES_URL": stack.warehouse_url,
        "WAREHOUSE_OWNER_URL": stack.pg_url("warehouse_owner", "warehouse"),
        "REPORTING_READER_URL": stack.pg_url("reporting_reader", "warehouse"),
        "UPSTREAM_FEED_URL": stack.pg_url("upstream_feed", "warehouse"),
        "OPS_EVENTS_WRITER_URL": stack.pg_url("ops_events_writer", "warehouse"),
        "WAREHOUSE_WRITER_PASSWORD": s["pg_warehouse_writer"],
        "REPORTING_READER_PASSWORD": s["pg_reporting_reader"],
        "UPSTREAM_FEED_PASSWORD": s["pg_upstream_feed"],
        "OPS_EVENTS_WRITER_PASSWORD": s["pg_ops_events_writer"],
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        **kafka_values(stack),
        "S3_ENDPOINT_URL": stack.s3_endpoint,
        "AWS_ACCESS_KEY_ID": s["s3_access_key"],
        "AWS_SECRET_ACCESS_KEY": s["s3_secret_key"],
        "AWS_DEFAULT_REGION": S3_REGION,
        "S3_BUCKET": S3_BUCKET,
        "MLFLOW_TRACKING_URI": stack.mlflow_uri,
        # MLflow's client reads these: sourcing this file makes one the pipelines' writer.
        "MLFLOW_TRACKING_USERNAME": mlflow.WRITER_USER,
        "MLFLOW_TRACKING_PASSWORD": s["mlflow_writer_password"],
        "MLFLOW_READER_USERNAME": mlflow.READER_USER,
        "MLFLOW_READER_PASSWORD": s["mlflow_reader_password"],
        "MLFLOW_ADMIN_USERNAME": mlflow.ADMIN_USER,
        "MLFLOW_ADMIN_PASSWORD": s["mlflow_admin_password"],
        "AIRFLOW_API_URL": stack.airflow_url,
        "AIRFLOW_USERNAME": ADMIN_USER,
        "AIRFLOW_PASSWORD": s["airflow_admin_password"],
        # Every role's login: AIRFLOW_VIEWER_PASSWORD, AIRFLOW_USER_PASSWORD, AIRFLOW_OP_PASSWORD, ...
        **{f"AIRFLOW_{name.upper()}_PASSWORD": s[f"airflow_{name}_password"] for name in ROLE_USERS},
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        # So the `airflow` CLI finds the project's packages, as the stack's processes do (the
        # plugins import include/; a DAG's timetable cannot be read without its plugin).
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "model_pod")]),
    }
    values.update(connection_env(stack))
    values.update(kubernetes_values())
    return values


def kafka_values(stack: Stack) -> dict[str, str]:
    """Kafka's users: sourcing this file makes one the pipelines' producer (KAFKA_USERNAME),
    as with MLflow; the other producers, the reader and the admin have their own.
    KAFKA_CLIENT_SECURITY_JSON is the scoring job's settings besides the address, as the model
    pods' Secret holds them."""
    pipelines, admin = stack.kafka_client(PIPELINES_USER), stack.kafka_client("admin")
    scoring = stack.kafka_client(SCORING_USER)
    security = {key: value for key, value in scoring.items() if key != "bootstrap.servers"}
    values = {
        "KAFKA_SECURITY_PROTOCOL": pipelines["security.protocol"],
        "KAFKA_SASL_MECHANISM": pipelines["sasl.mechanisms"],
        "KAFKA_USERNAME": pipelines["sasl.username"],
        "KAFKA_PASSWORD": pipelines["sasl.password"],
    }
    for user in (SCORING_USER, CUSTODIANS_USER, READER_USER):
        client = stack.kafka_client(user)
        values[f"KAFKA_{user.upper()}_USERNAME"] = client["sasl.username"]
        values[f"KAFKA_{user.upper()}_PASSWORD"] = client["sasl.password"]
    return values | {
        "KAFKA_ADMIN_BOOTSTRAP_SERVERS": admin["bootstrap.servers"],
        "KAFKA_ADMIN_SASL_MECHANISM": admin["sasl.mechanisms"],
        "KAFKA_ADMIN_USERNAME": admin["sasl.username"],
        "KAFKA_ADMIN_PASSWORD": admin["sasl.password"],
        "KAFKA_CLIENT_SECURITY_JSON": json.dumps(security, sort_keys=True),
    }


def kafka_client_of(values: Mapping[str, str], user: str) -> dict[str, Any]:
    """A confluent-kafka configuration for one of the stack's Kafka users as var/stack.env ``values`` give it:
    a producer ("pipelines", "scoring", "custodians": each writes its own topics), "reader"
    (reads them) or "admin" (topics, ACLs)."""
    prefix = "KAFKA_" if user == PIPELINES_USER else f"KAFKA_{user.upper()}_"
    admin = user == "admin"
    return {
        "bootstrap.servers": values["KAFKA_ADMIN_BOOTSTRAP_SERVERS" if admin else "KAFKA_BOOTSTRAP_SERVERS"],
        "security.protocol": values["KAFKA_SECURITY_PROTOCOL"],
        "sasl.mechanisms": values["KAFKA_ADMIN_SASL_MECHANISM" if admin else "KAFKA_SASL_MECHANISM"],
        "sasl.username": values[f"{prefix}USERNAME"],
        "sasl.password": values[f"{prefix}PASSWORD"],
    }


def kubernetes_values() -> dict[str, str]:
    """Where the local cluster's credentials are. Airflow's connection points at the airflow-worker
    ServiceAccount's kubeconfig (its Role's rights only), whether or not the cluster is up: a
    model pod started without it fails naming the missing file. KUBECONFIG (the cluster's admin,
    for kubectl) only while the cluster is up."""
    from devstack.k8s import cluster

    values = {"KUBERNETES_AIRFLOW_KUBECONFIG": str(cluster.AIRFLOW_KUBECONFIG)}
    if cluster.is_up():
        values["KUBECONFIG"] = str(cluster.ADMIN_KUBECONFIG)
    return values


def connection_env(stack: Stack) -> dict[str, str]:
    """The project's Airflow connections as AIRFLOW_CONN_* values (URI or JSON form)."""
    s = stack.secrets
    aws = {
        "conn_type": "aws",
        "login": s["s3_access_key"],
        "password": s["s3_secret_key"],
        "extra": {"endpoint_url": stack.s3_endpoint, "region_name": S3_REGION},
    }
    kafka = {"conn_type": "kafka", "extra": stack.kafka_client(PIPELINES_USER)}
    kafka_reader = {"conn_type": "kafka", "extra": stack.kafka_client(READER_USER)}
    kafka_scoring = {"conn_type": "kafka", "extra": stack.kafka_client(SCORING_USER)}
    mlflow_tracking = {
        "conn_type": "http",
        "host": stack.mlflow_uri,
        "login": mlflow.WRITER_USER,
        "password": s["mlflow_writer_password"],
    }
    from devstack.k8s import cluster

    kubernetes = {
        "conn_type": "kubernetes",
        "extra": {"kube_config_path": str(cluster.AIRFLOW_KUBECONFIG), "namespace": cluster.NAMESPACE},
    }
    return {
        "AIRFLOW_CONN_WAREHOUSE_POSTGRES": stack.warehouse_url,
        "AIRFLOW_CONN_WAREHOUSE_REPORTING": stack.pg_url("reporting_reader", "warehouse"),
        "AIRFLOW_CONN_UPSTREAM_SIMULATOR": stack.pg_url("upstream_feed", "warehouse"),
        "AIRFLOW_CONN_OPS_EVENTS_OUTBOX": stack.pg_url("ops_events_writer", "warehouse"),
        "AIRFLOW_CONN_S3_MARKETS": json.dumps(aws),
        "AIRFLOW_CONN_KAFKA_MARKETS": json.dumps(kafka),
        "AIRFLOW_CONN_KAFKA_MARKETS_READER": json.dumps(kafka_reader),
        "AIRFLOW_CONN_KAFKA_SCORING": json.dumps(kafka_scoring),
        "AIRFLOW_CONN_MLFLOW_TRACKING": json.dumps(mlflow_tracking),
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(kubernetes),
    }


def write(stack: Stack) -> None:
    lines = [
        "# Generated by `make up`: the running local stack. Source it: `set -a; . var/stack.env; set +a`\n"
    ]
    lines += [f"{key}={shlex.quote(value)}\n" for key, value in stack_values(stack).items()]
    write_private(STACK_ENV_FILE, "".join(lines))
