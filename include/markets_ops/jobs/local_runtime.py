"""The embedded job runtime: a model job as a separate local process, like a pod without Kubernetes.

The process runs the same entry point with the same arguments as the pod
(``python -m settlement_model <job> ...``) and gets only the job contract's environment,
built from the Airflow connections when the task runs: never the worker's own environment,
which holds Airflow's secrets. Each run gets a fresh work directory (the pod's emptyDir),
removed afterwards. Output is streamed into the task log line by line, and a non-zero exit
code fails the task.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

from include.markets_ops.airflow import connections, lineage
from include.markets_ops.airflow.lineage import LINEAGE_CONN_ID
from include.markets_ops.jobs.spec import JOBS, MODEL_POD_DIR, NO_RETRY_EXIT_CODES, JobContractError, Service
from include.markets_ops.services.kafka import KAFKA_SCORING_CONN_ID

KILL_GRACE_SECONDS = 30

log = logging.getLogger(__name__)


def contract_environment(job: str, work_dir: Path, python: str) -> dict[str, str]:
    """The job's environment: the contract's variables for the services it uses, nothing else."""
    spec = JOBS[job]
    tmp = work_dir / "tmp"
    work = work_dir / "work"
    for folder in (tmp, work):
        folder.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.pathsep.join([str(Path(python).parent), os.defpath]),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",  # lines reach the task log as they are written
        "OMP_NUM_THREADS": str(spec.threads),
        "PYTHONPATH": str(MODEL_POD_DIR),
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "WORK_DIR": str(work),
    }
    if Service.DATABASE in spec.services and spec.database_conn_id:
        env["DATABASE_URL"] = connections.postgres_url(spec.database_conn_id)
    if Service.S3 in spec.services:
        s3 = connections.s3_settings()
        env["S3_BUCKET"] = connections.s3_bucket()
        optional = {
            "S3_ENDPOINT_URL": s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            "AWS_DEFAULT_REGION": s3.region,
        }
        env.update({name: value for name, value in optional.items() if value})
    if Service.MLFLOW in spec.services:
        env["MLFLOW_TRACKING_URI"] = connections.mlflow_tracking_uri()
        # MLFLOW_TRACKING_USERNAME / _PASSWORD, read by MLflow's client and registry_http.
        mlflow_credentials = connections.mlflow_credentials()
        if mlflow_credentials is not None:
            env.update(mlflow_credentials.environment())
    if Service.KAFKA in spec.services:
        # The scoring job's own producer, which may write only its topic (as a pod's Secret).
        kafka = connections.kafka_config(KAFKA_SCORING_CONN_ID)
        env["KAFKA_BOOTSTRAP_SERVERS"] = str(kafka.pop("bootstrap.servers"))
        if kafka:
            env["KAFKA_CONFIG_JSON"] = json.dumps(kafka)
    return env


def lineage_environment(task_instance: Any) -> dict[str, str]:
    """The job's OpenLineage variables (settlement_model/lineage.py): the client's configuration
    from the ``openlineage`` connection, the task's run and its DAG run's as the job's parents.
    Lineage never fails a task: without the connection, none (the job emits nothing); a parent
    that cannot be worked out is left out, with a warning."""
    if not lineage.enabled():
        return {}
    try:
        config = connections.connection(LINEAGE_CONN_ID).extra_dejson
    except AirflowNotFoundException:
        log.info("No %r connection: the model job emits no lineage", LINEAGE_CONN_ID)
        return {}
    except Exception:
        log.warning(
            "The %r connection could not be read: no lineage for the model job",
            LINEAGE_CONN_ID,
            exc_info=True,
        )
        return {}
    return {"OPENLINEAGE_CLIENT_CONFIG_JSON": json.dumps(config), **_lineage_parents(task_instance)}


def _lineage_parents(task_instance: Any) -> dict[str, str]:
    try:
        from airflow.providers.openlineage.plugins.macros import lineage_parent_id, lineage_root_parent_id

        return {
            "OPENLINEAGE_PARENT_ID": lineage_parent_id(task_instance),
            "OPENLINEAGE_ROOT_PARENT_ID": lineage_root_parent_id(task_instance),
        }
    except Exception:  # ImportError (no provider) included: the job's run is then a root run
        log.warning("The task's OpenLineage run is unknown: the model job's run has no parent", exc_info=True)
        return {}


class LocalJobOperator(BaseOperator):
    """Run ``settlement-model <job> <arguments>`` as a local process (the embedded runtime).

    :param job: the entry point (a key of jobs.JOBS)
    :param arguments: its arguments, as the pod would get them (templated, mappable)
    :param python: the interpreter with the model package's dependencies (default: this one)
    """

    template_fields: Sequence[str] = ("arguments",)
    ui_color = "#e8f4ea"

    def __init__(self, *, job: str, arguments: Any = None, python: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if job not in JOBS:
            raise ValueError(f"unknown model job {job!r}; known: {sorted(JOBS)}")
        self.job = job
        self.arguments = arguments or []
        self.python = python or sys.executable
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        arguments = [str(argument) for argument in self.arguments]
        return [self.python, "-m", "settlement_model", self.job, *arguments]

    def execute(self, context: Any) -> None:
        command = self.command()
        with tempfile.TemporaryDirectory(prefix=f"settlement-model-{self.job}-") as folder:
            env = contract_environment(self.job, Path(folder), self.python)
            env.update(lineage_environment(context.get("ti")))
            self.log.info("Running %s", " ".join(command[1:]))
            # A fixed argument list (this interpreter, the package, the job), never a shell.
            self._process = subprocess.Popen(  # noqa: S603
                command,
                env=env,
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so on_kill stops its children too
            )
            assert self._process.stdout is not None
            for line in iter(self._process.stdout.readline, b""):
                self.log.info("%s", line.decode(errors="replace").rstrip())
            code = self._process.wait()
        if code == 0:
            return
        message = f"settlement-model {self.job} exited with code {code}"
        if code in NO_RETRY_EXIT_CODES:
            # Bad arguments or a refused precondition: a retry would fail the same way.
            raise JobContractError(f"{message} ({NO_RETRY_EXIT_CODES[code]})")
        raise AirflowException(message)

    def on_kill(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
