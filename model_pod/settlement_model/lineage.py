"""The model jobs' own OpenLineage events: each job run is a child of the Airflow task that
started it, with the datasets it reads and writes (docs/lineage.md, docs/pod-contract.md).

A job emits START before it runs, then COMPLETE, or FAIL when it raises (a refusal and a
contract error included). Everything comes from the environment:

- ``OPENLINEAGE_CLIENT_CONFIG_JSON``: the OpenLineage client's configuration, ``{"transport":
  {...}}``, the same transport as the Airflow tasks' events. Unset: lineage is off.
- ``OPENLINEAGE_PARENT_ID`` / ``OPENLINEAGE_ROOT_PARENT_ID``: the task's run and its DAG run's, as
  ``<namespace>/<job name>/<run id>`` (the provider's ``lineage_parent_id`` and
  ``lineage_root_parent_id`` macros). Unset: a run started by hand, with no parent.

Lineage never fails or holds up a job: every emission is best effort, logged as a warning when
it fails. The project's transport (lineage_transport.py) gives Kafka 3 s per event, then keeps the
event in the outbox for the relay: a broker that is down delays the job's lineage, loses none.
The OpenLineage client is imported only when lineage is on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from settlement_model.lineage_names import JOB_NAMESPACE, DatasetName

log = logging.getLogger(__name__)

CONFIG_VARIABLE = "OPENLINEAGE_CLIENT_CONFIG_JSON"
PARENT_VARIABLE = "OPENLINEAGE_PARENT_ID"
ROOT_PARENT_VARIABLE = "OPENLINEAGE_ROOT_PARENT_ID"
INTEGRATION = "settlement_model"
CLOSE_TIMEOUT_SECONDS = 5.0
ERROR_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Datasets:
    inputs: tuple[DatasetName, ...] = ()
    outputs: tuple[DatasetName, ...] = ()


@dataclass(frozen=True)
class RunReference:
    """Another job's run, as the Airflow provider's macros name it."""

    namespace: str
    name: str
    run_id: str

    @classmethod
    def parse(cls, value: str) -> RunReference:
        """``<namespace>/<job name>/<run id>``: the job name (``<dag_id>.<task_id>``) and the run
        id (a UUID) hold no "/", so they are split from the right; the namespace keeps the rest."""
        namespace, name, run_id = value.strip().rsplit("/", 2)
        if not namespace or not name:
            raise ValueError(f"expected <namespace>/<job name>/<run id>, got {value!r}")
        return cls(namespace, name, str(uuid.UUID(run_id)))


def parent_runs(environ: Mapping[str, str]) -> tuple[RunReference | None, RunReference | None]:
    """(parent, root) from the environment; one that cannot be read is left out, with a warning."""
    parent = _run_reference(environ, PARENT_VARIABLE)
    root = _run_reference(environ, ROOT_PARENT_VARIABLE) if parent else None
    return parent, root


def _run_reference(environ: Mapping[str, str], variable: str) -> RunReference | None:
    value = environ.get(variable, "")
    if not value.strip():
        return None
    try:
        return RunReference.parse(value)
    except ValueError:
        log.warning("lineage: %s=%r is not <namespace>/<job name>/<run id>; ignored", variable, value)
        return None


def job_identity(job: str, parent: RunReference | None) -> tuple[str, str]:
    """(namespace, name) of the job's OpenLineage job: under the task that started it (the job
    of ``settlement_risk_scoring.score_shard`` is ``settlement_risk_scoring.score_shard.score``),
    else ``settlement_model.<job>``."""
    if parent is None:
        return JOB_NAMESPACE, f"{INTEGRATION}.{job}"
    return parent.namespace, f"{parent.name}.{job}"


def client_config(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The client's configuration, or None (lineage off) when unset or unusable."""
    raw = environ.get(CONFIG_VARIABLE, "")
    if not raw.strip():
        log.info("lineage: %s is not set; this run emits no OpenLineage events", CONFIG_VARIABLE)
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        log.warning("lineage: %s is not valid JSON (%s); lineage is off", CONFIG_VARIABLE, error.msg)
        return None
    transport = config.get("transport") if isinstance(config, dict) else None
    # Without a transport type the client falls back to printing the events on stdout.
    if not isinstance(transport, dict) or not transport.get("type"):
        log.warning('lineage: %s has no {"transport": {"type": ...}}; lineage is off', CONFIG_VARIABLE)
        return None
    return config


def new_client(config: dict[str, Any]) -> Any:
    from openlineage.client import OpenLineageClient

    return OpenLineageClient(config=config)


class JobLineage:
    """One job run's events, sent by ``client`` (None: lineage is off, nothing is sent)."""

    def __init__(
        self, client: Any, job: str, parent: RunReference | None = None, root: RunReference | None = None
    ) -> None:
        self.client = client
        self.parent = parent
        self.root = root
        self.namespace, self.name = job_identity(job, parent)
        self.run_id = self._new_run_id() if client is not None else ""

    @classmethod
    def from_environ(cls, job: str, environ: Mapping[str, str] | None = None) -> JobLineage:
        env = os.environ if environ is None else environ
        config = client_config(env)
        client = None
        if config is not None:
            try:
                client = new_client(config)
            except Exception:  # a transport that cannot be built turns lineage off, never the job
                log.warning(
                    "lineage: no OpenLineage client from %s; lineage is off", CONFIG_VARIABLE, exc_info=True
                )
        return cls(client, job, *parent_runs(env))

    @staticmethod
    def _new_run_id() -> str:
        from openlineage.client.uuid import generate_new_uuid

        return str(generate_new_uuid())

    def emit(self, state: str, datasets: Datasets, error: BaseException | None = None) -> None:
        """Send one event (START, COMPLETE or FAIL); a failure is logged, never raised."""
        if self.client is None:
            return
        try:
            self.client.emit(self._event(state, datasets, error))
        except Exception:
            log.warning("lineage: the %s event of %s was not sent", state, self.name, exc_info=True)

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.close(CLOSE_TIMEOUT_SECONDS)
        except Exception:
            log.warning("lineage: the OpenLineage client did not close cleanly", exc_info=True)

    def _event(self, state: str, datasets: Datasets, error: BaseException | None) -> Any:
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import job_type_job

        job_type = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType="JOB"
        )
        return RunEvent(
            eventType=RunState[state],
            eventTime=dt.datetime.now(dt.UTC).isoformat(),
            run=Run(runId=self.run_id, facets=self._run_facets(error)),
            job=Job(namespace=self.namespace, name=self.name, facets={"jobType": job_type}),
            inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in datasets.inputs],
            outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in datasets.outputs],
        )

    def _run_facets(self, error: BaseException | None) -> dict[str, Any]:
        from openlineage.client.facet_v2 import error_message_run, parent_run

        facets: dict[str, Any] = {}
        if self.parent is not None:
            root = None
            if self.root is not None:
                root = parent_run.Root(
                    run=parent_run.RootRun(runId=self.root.run_id),
                    job=parent_run.RootJob(namespace=self.root.namespace, name=self.root.name),
                )
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=self.parent.run_id),
                job=parent_run.Job(namespace=self.parent.namespace, name=self.parent.name),
                root=root,
            )
        if error is not None:
            # Why it failed, as the job's log says it (no traceback: the log has it).
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"{type(error).__name__}: {error}"[:ERROR_MESSAGE_CHARS],
                programmingLanguage="python",
            )
        return facets


def declared(datasets: Callable[[], Datasets]) -> Datasets:
    """The job's declared datasets; none (with a warning) when they cannot be worked out."""
    try:
        return datasets()
    except Exception:
        log.warning("lineage: the job's datasets could not be named; its events carry none", exc_info=True)
        return Datasets()


@contextmanager
def job_run(
    job: str, datasets: Callable[[], Datasets], environ: Mapping[str, str] | None = None
) -> Iterator[None]:
    """START now; COMPLETE when the block ends, FAIL when it raises (the error goes on)."""
    lineage = JobLineage.from_environ(job, environ)
    named = declared(datasets) if lineage.client is not None else Datasets()
    lineage.emit("START", named)
    try:
        yield
    except BaseException as error:
        lineage.emit("FAIL", named, error)
        raise
    else:
        lineage.emit("COMPLETE", named)
    finally:
        lineage.close()
