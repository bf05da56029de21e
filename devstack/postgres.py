"""PostgreSQL 15 from Debian's packages: one cluster, four databases, one role per user.

Run as root (CI), the server runs as the ``postgres`` OS user, since initdb refuses root.
Run as an ordinary user, it runs as that user.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from devstack.config import HOST, VAR, Stack
from devstack.process import StackError, log_file, private_file, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NAME = "postgres"

# database -> owner role. The warehouse's other roles get their grants from the
# warehouse migrations (include/markets_ops/warehouse/migrations).
# mlflow_auth is the user store of MLflow's basic-auth app (users, password hashes, grants).
DATABASES = {
    "airflow": "airflow",
    "mlflow": "mlflow",
    "mlflow_auth": "mlflow",
    "warehouse": "warehouse_owner",
}

SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "max_connections": "200",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    # Local development data: durability is not worth the fsyncs here.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "4GB",
    "log_min_duration_statement": "2000",
    "unix_socket_permissions": "0700",
}


def _as_root() -> bool:
    return os.geteuid() == 0


def root_dir() -> Path:
    """Where the cluster lives: var/postgres, or a private folder if the postgres user cannot reach var/."""
    preferred = VAR / "postgres"
    if not _as_root() or _postgres_user_can_traverse(VAR):
        return preferred
    digest = hashlib.sha1(str(VAR).encode(), usedforsecurity=False).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"markets-ops-pg-{digest}"


def _postgres_user_can_traverse(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["/usr/sbin/runuser", "-u", "postgres", "--", "test", "-x", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def data_dir() -> Path:
    return root_dir() / "data"


def socket_dir() -> Path:
    return root_dir() / "socket"


def _run_as_server_user(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    if _as_root():
        argv = ["/usr/sbin/runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]


def ensure_installed() -> None:
    if not (PG_BIN / "postgres").exists():
        raise StackError(
            f"PostgreSQL 15 is not installed ({PG_BIN}/postgres missing); "
            "run `make install` (it installs Debian's postgresql-15)."
        )


def init_cluster() -> None:
    if (data_dir() / "PG_VERSION").exists():
        return
    root = root_dir()
    root.mkdir(parents=True, exist_ok=True)
    for folder in (data_dir(), socket_dir()):
        folder.mkdir(parents=True, exist_ok=True)
    if _as_root():
        shutil.chown(root, "postgres", "postgres")
        for folder in (data_dir(), socket_dir()):
            shutil.chown(folder, "postgres", "postgres")
    os.chmod(data_dir(), 0o700)
    result = _run_as_server_user(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(data_dir()),
            "-U",
            "postgres",
            "--auth-local=trust",  # the socket folder is private to the server's user
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )
    if result.returncode != 0:
        raise StackError(f"initdb failed:\n{result.stdout}\n{result.stderr}")


def start(stack: Stack) -> None:
    ensure_installed()
    init_cluster()
    if not is_running():
        _start_server(stack)
    wait_until(NAME, lambda: _psql("SELECT 1", database="postgres").strip() == "1", timeout=60)
    ensure_roles_and_databases(stack)


def _start_server(stack: Stack) -> None:
    log = private_file(log_file(NAME))
    if _as_root():
        shutil.chown(log, "postgres", "postgres")
    options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
    options += f" -p {stack.ports['postgres']} -k {socket_dir()}"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data_dir()), "-l", str(log), "-o", options]
    result = _run_as_server_user([*pg_ctl, "-w", "-t", "60", "start"])
    if result.returncode != 0:
        raise StackError(
            f"postgres did not start: {result.stdout.strip()} {result.stderr.strip()}; see its log: {log}"
        )


def is_running() -> bool:
    if not (data_dir() / "PG_VERSION").exists():
        return False
    result = _run_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data_dir()), "status"])
    return result.returncode == 0


def server_pid() -> int | None:
    """The postmaster's pid (postmaster.pid's first line) while the server runs. It leads a
    process group of its own; each backend has its own too, so pausing the postmaster's group
    leaves open sessions working and makes new connections hang."""
    pid_path = data_dir() / "postmaster.pid"
    if not is_running() or not pid_path.exists():
        return None
    return int(pid_path.read_text().split()[0])


def stop() -> bool:
    if not is_running():
        return False
    result = _run_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data_dir()), "-m", "fast", "-w", "stop"])
    if result.returncode != 0:
        raise StackError(f"pg_ctl stop failed: {result.stderr}")
    return True


def _psql(sql: str, database: str = "postgres", variables: dict[str, str] | None = None) -> str:
    argv = [
        str(PG_BIN / "psql"),
        "-h",
        str(socket_dir()),
        "-p",
        str(Stack.load().ports["postgres"]),
        "-U",
        "postgres",
        "-d",
        database,
        "-v",
        "ON_ERROR_STOP=1",
        "-XAtq",
    ]
    for key, value in (variables or {}).items():
        argv += ["-v", f"{key}={value}"]
    result = _run_as_server_user(argv, input=sql)
    if result.returncode != 0:
        raise StackError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


def ensure_roles_and_databases(stack: Stack) -> None:
    """Create (or re-password) each role, and each database with its owner. Idempotent."""
    from devstack.config import ROLES

    for role in ROLES:
        # psql's :'var' quoting keeps the generated password out of string formatting.
        _psql(
            "SELECT format('CREATE ROLE %I LOGIN', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec\n"
            "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password') \\gexec\n",
            variables={"role": role, "password": stack.secrets[f"pg_{role}"]},
        )
    for database, owner in DATABASES.items():
        _psql(
            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec\n"
            "SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \\gexec\n"
            "SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'db', :'owner') \\gexec\n",
            variables={"db": database, "owner": owner},
        )
    # The pipeline and reporting roles may connect to the warehouse; what they may touch
    # inside it is granted by the warehouse migrations.
    for role in ("warehouse_writer", "reporting_reader", "upstream_feed", "ops_events_writer"):
        _psql(
            "SELECT format('GRANT CONNECT ON DATABASE warehouse TO %I', :'role') \\gexec\n",
            variables={"role": role},
        )
    # PostgreSQL 15 no longer lets every role create in `public`; the owners still need to.
    for database, owner in DATABASES.items():
        _psql(
            "SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \\gexec\n",
            database=database,
            variables={"owner": owner},
        )


# Throwaway databases for tests (migrations up/down/up, loads), shaped like the warehouse.
SCRATCH_NAME = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
WAREHOUSE_ROLES = (
    "warehouse_owner",
    "warehouse_writer",
    "reporting_reader",
    "upstream_feed",
    "ops_events_writer",
)


def create_scratch_database(name: str) -> None:
    """(Re)create database ``name`` owned by warehouse_owner, which the warehouse roles may
    connect to: an empty warehouse for the migrations to build. Only the superuser can
    create databases, hence here."""
    _check_scratch_name(name)
    drop_scratch_database(name)
    _psql(
        "SELECT format('CREATE DATABASE %I OWNER warehouse_owner', :'db') \\gexec\n"
        "SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \\gexec\n",
        variables={"db": name},
    )
    for role in WAREHOUSE_ROLES:
        _psql(
            "SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'db', :'role') \\gexec\n",
            variables={"db": name, "role": role},
        )
    _psql("ALTER SCHEMA public OWNER TO warehouse_owner;\n", database=name)


def drop_scratch_database(name: str) -> None:
    _check_scratch_name(name)
    _psql("SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'db') \\gexec\n", variables={"db": name})


def _check_scratch_name(name: str) -> None:
    if not SCRATCH_NAME.match(name) or name in DATABASES or name == "postgres":
        raise StackError(f"{name!r} cannot be a scratch database")
