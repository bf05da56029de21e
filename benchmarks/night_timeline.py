"""What a night's task instances say about orchestration: the critical path and its overhead.

Pure functions over the task instances the REST API reports (benchmarks/bench_night.py reads
them), unit-tested in tests/unit/benchmarks.

The critical path is walked back from the task instance that ended last: each step goes to the
instance that released it, i.e. the latest to end before it started among those it waited for
(its upstream tasks in the same run, its mapped siblings, which hold the pool's slots, or, for a
run's first task, the tasks of the DAG runs whose asset events started the run). The chain's
wall time minus the time its path spent in tasks is what orchestration added: scheduling,
queueing, asset triggering, task start-up before Airflow marks the task running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Task start and end times come from different processes; a dependent task may be recorded as
# started a few milliseconds before its upstream's end is.
CLOCK_SLACK = dt.timedelta(milliseconds=500)


@dataclass(frozen=True)
class TaskRun:
    """One task instance's try, as the REST API reports it."""

    dag_id: str
    task_id: str
    map_index: int
    ti_id: str
    scheduled: dt.datetime | None
    queued: dt.datetime | None
    started: dt.datetime
    ended: dt.datetime

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()

    @property
    def queued_seconds(self) -> float:
        """From queued (handed to the executor) to running."""
        return (self.started - self.queued).total_seconds() if self.queued else 0.0

    @property
    def label(self) -> str:
        suffix = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.task_id}{suffix}"

    @classmethod
    def from_api(cls, dag_id: str, instance: Mapping[str, object]) -> TaskRun:
        return cls(
            dag_id=dag_id,
            task_id=str(instance["task_id"]),
            map_index=int(str(instance.get("map_index", -1))),
            ti_id=str(instance["id"]),
            scheduled=_timestamp(instance.get("scheduled_when")),
            queued=_timestamp(instance.get("queued_when")),
            started=_required(instance.get("start_date"), instance),
            ended=_required(instance.get("end_date"), instance),
        )


def _timestamp(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(value)) if value else None


def _required(value: object, instance: Mapping[str, object]) -> dt.datetime:
    stamp = _timestamp(value)
    if stamp is None:
        raise ValueError(f"task {instance.get('task_id')} has no start or end: state {instance.get('state')}")
    return stamp


def critical_path(
    runs: Iterable[TaskRun],
    upstream_tasks: Mapping[tuple[str, str], set[str]],
    upstream_dags: Mapping[str, set[str]],
) -> list[TaskRun]:
    """The chain of task instances that decided the end time, first to last.

    ``upstream_tasks[(dag_id, task_id)]`` names the task's upstream tasks in its DAG;
    ``upstream_dags[dag_id]`` the DAGs whose runs' asset events start a run of ``dag_id``."""
    runs = list(runs)
    if not runs:
        return []
    path = [max(runs, key=lambda run: run.ended)]
    while (previous := _released_by(path[-1], runs, upstream_tasks, upstream_dags)) is not None:
        path.append(previous)
    return list(reversed(path))


def _released_by(
    current: TaskRun,
    runs: list[TaskRun],
    upstream_tasks: Mapping[tuple[str, str], set[str]],
    upstream_dags: Mapping[str, set[str]],
) -> TaskRun | None:
    waited_for = upstream_tasks.get((current.dag_id, current.task_id), set())
    if waited_for:
        candidates = [r for r in runs if r.dag_id == current.dag_id and r.task_id in waited_for]
    else:
        candidates = [r for r in runs if r.dag_id in upstream_dags.get(current.dag_id, set())]
    candidates += [
        r for r in runs if (r.dag_id, r.task_id) == (current.dag_id, current.task_id) and r != current
    ]
    finished_before = [r for r in candidates if r.ended <= current.started + CLOCK_SLACK]
    return max(finished_before, key=lambda run: run.ended, default=None)


@dataclass(frozen=True)
class Overhead:
    wall_seconds: float
    task_seconds: float  # spent in the critical path's tasks

    @property
    def seconds(self) -> float:
        return self.wall_seconds - self.task_seconds

    @property
    def share(self) -> float:
        return self.seconds / self.wall_seconds if self.wall_seconds else 0.0


def overhead(path: list[TaskRun], chain_started: dt.datetime, chain_ended: dt.datetime) -> Overhead:
    """The chain's wall time and the part of it its critical path spent inside tasks."""
    return Overhead(
        wall_seconds=(chain_ended - chain_started).total_seconds(),
        task_seconds=sum(run.seconds for run in path),
    )
