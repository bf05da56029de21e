"""Where the local stack lives, which ports it uses, and its generated secrets.

Everything the stack writes stays under the git-ignored ``var/`` folder of the checkout.
Ports have defaults that avoid the services' standard ports (so a developer's own
PostgreSQL or Kafka keeps working) and can be overridden with ``STACK_<NAME>_PORT``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var"
RUN_DIR = VAR / "run"
LOG_DIR = VAR / "log"
CACHE_DIR = VAR / "cache"
STACK_ENV_FILE = VAR / "stack.env"
SECRETS_FILE = VAR / "secrets.json"

HOST = "127.0.0.1"
S3_BUCKET = "markets-ops"
S3_REGION = "us-east-1"

# name -> default port. Every port a stack process listens on is declared here, so that
# `make up` can check them all before starting anything. All sit below Linux's ephemeral
# range (32768+), so an outgoing connection never takes one; a STACK_PORT_OFFSET of 10, 20,
# 30, ... shifts a second checkout's stack clear of this one.
DEFAULT_PORTS: dict[str, int] = {
    "postgres": 25432,
    "kafka": 29092,
    "kafka_controller": 29093,
    "kafka_broker": 29094,  # the broker's own listener: inter-broker traffic and the stack's admin
    "s3": 28333,
    "s3_grpc": 28433,
    "seaweed_master": 29333,
    "seaweed_master_grpc": 29433,
    "seaweed_volume": 28380,
    "seaweed_volume_grpc": 28480,
    "seaweed_filer": 28888,
    "seaweed_filer_grpc": 28988,
    "seaweed_admin": 23646,
    "seaweed_admin_grpc": 23746,
    "mlflow": 25500,
    "airflow_api": 28800,
    "airflow_worker_log": 28793,
    "airflow_trigger_log": 28794,
    # the local Kubernetes lane (make k8s-up)
    "k8s_etcd": 22379,
    "k8s_etcd_peer": 22380,
    "k8s_apiserver": 26443,
    "k8s_controller_manager": 20257,
    "k8s_scheduler": 20259,
    "k8s_kubelet": 20250,
    "k8s_kubelet_healthz": 20248,
    "k8s_containerd_stream": 20010,
}

# Database roles: (role, database it belongs to). Passwords are generated per checkout.
ROLES = (
    "airflow",  # Airflow metadata database owner
    "mlflow",  # MLflow backend store owner
    "warehouse_owner",  # owns the warehouse schemas; runs the Alembic migrations
    "warehouse_writer",  # what the pipelines write with
    "reporting_reader",  # read-only: reports, alerts, the dashboard
    "upstream_feed",  # the synthetic upstream systems: writes the ground truth (synthetic schema)
    "ops_events_writer",  # the Airflow callbacks: may only insert operations events into events.outbox
)


def port(name: str) -> int:
    """STACK_<NAME>_PORT overrides one port; STACK_PORT_OFFSET shifts them all (a second checkout)."""
    override = os.environ.get(f"STACK_{name.upper()}_PORT")
    if override:
        return int(override)
    return DEFAULT_PORTS[name] + int(os.environ.get("STACK_PORT_OFFSET", "0"))


SEAWEED_JWT_KEYS = (
    "s3_jwt_signing",
    "s3_jwt_signing_read",
    "s3_jwt_filer_signing",
    "s3_jwt_filer_signing_read",
)


def secret_names() -> list[str]:
    """Every secret the stack generates per checkout (var/secrets.json)."""
    return [f"pg_{role}" for role in ROLES] + [
        "s3_access_key",
        "s3_secret_key",
        # SeaweedFS signs its internal HTTP writes and reads with these (devstack/s3.py).
        *SEAWEED_JWT_KEYS,
        "airflow_admin_password",
        "airflow_viewer_password",  # the other roles' logins (devstack/airflow.py ROLE_USERS)
        "airflow_user_password",
        "airflow_op_password",
        "airflow_fernet_key",
        "airflow_api_secret_key",
        "airflow_jwt_secret",
        # MLflow's basic-auth app (devstack/mlflow.py): its users and its CSRF key.
        "mlflow_admin_password",
        "mlflow_writer_password",
        "mlflow_reader_password",
        "mlflow_flask_secret_key",
        # Kafka's SASL identities (devstack/kafka.py KAFKA_USERS and the broker's own).
        "kafka_broker_password",
        "kafka_admin_password",
        "kafka_pipelines_password",
        "kafka_scoring_password",
        "kafka_custodians_password",
        "kafka_reader_password",
        "kafka_lineage_password",
    ]


@dataclass(frozen=True)
class StackSecrets:
    """Random credentials, generated once per checkout into var/secrets.json (0600)."""

    values: dict[str, str]

    @classmethod
    def load_or_create(cls) -> StackSecrets:
        wanted = secret_names()
        values: dict[str, str] = {}
        if SECRETS_FILE.exists():
            values = json.loads(SECRETS_FILE.read_text())
        missing = [name for name in wanted if name not in values]
        if missing:
            for name in missing:
                values[name] = _generate(name)
            VAR.mkdir(parents=True, exist_ok=True)
            SECRETS_FILE.touch(mode=0o600)
            SECRETS_FILE.write_text(json.dumps(values, indent=2))
        return cls(values)

    def __getitem__(self, name: str) -> str:
        return self.values[name]


def _generate(name: str) -> str:
    if name == "airflow_fernet_key":
        import base64

        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    if name == "s3_access_key":
        return "mo" + secrets.token_hex(8)
    # URL-safe so the value can sit in a connection URI without quoting.
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Stack:
    """The resolved addresses and credentials of the local stack."""

    secrets: StackSecrets

    @classmethod
    def load(cls) -> Stack:
        return cls(StackSecrets.load_or_create())

    @cached_property
    def ports(self) -> dict[str, int]:
        return {name: port(name) for name in DEFAULT_PORTS}

    def pg_url(self, role: str, database: str, driver: str = "postgresql") -> str:
        password = self.secrets[f"pg_{role}"]
        return f"{driver}://{role}:{password}@{HOST}:{self.ports['postgres']}/{database}"

    @property
    def warehouse_url(self) -> str:
        return self.pg_url("warehouse_writer", "warehouse")

    @property
    def kafka_bootstrap(self) -> str:
        """The clients' listener (SASL/SCRAM-SHA-512)."""
        return f"{HOST}:{self.ports['kafka']}"

    def kafka_client(self, user: str) -> dict[str, Any]:
        """A confluent-kafka configuration for one of the stack's Kafka users: the producers
        (``pipelines``, ``scoring``, ``custodians``, ``lineage``: each writes its own topics) and
        ``reader`` (reads them) on the clients' listener, or ``admin`` (topics, ACLs, users) on
        the broker's own listener (devstack/kafka.py)."""
        if user == "admin":
            server, mechanism = f"{HOST}:{self.ports['kafka_broker']}", "PLAIN"
        else:
            server, mechanism = self.kafka_bootstrap, "SCRAM-SHA-512"
        return {
            "bootstrap.servers": server,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": mechanism,
            "sasl.username": user,
            "sasl.password": self.secrets[f"kafka_{user}_password"],
        }

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.ports['s3']}"

    @property
    def mlflow_uri(self) -> str:
        return f"http://{HOST}:{self.ports['mlflow']}"

    @property
    def airflow_url(self) -> str:
        return f"http://{HOST}:{self.ports['airflow_api']}"
