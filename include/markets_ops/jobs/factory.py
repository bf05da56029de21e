"""The operator factory: ``model_job`` / ``mapped_model_job`` build the configured runtime's
operator for a job of ``spec.JOBS`` (see the package's docstring for the two runtimes).

The runtime modules are imported only when an operator is built, and only the configured one:
the Kubernetes provider costs seconds to import, which the local runtime never pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from include.markets_ops.jobs.spec import JOBS, POOL, Runtime, job_runtime


def _operator_class_and_kwargs(job: str, environ: Mapping[str, str] | None) -> tuple[Any, dict[str, Any]]:
    spec = JOBS[job]
    common: dict[str, Any] = {
        "pool": POOL,
        "execution_timeout": spec.execution_timeout,
    }
    if job_runtime(environ) is Runtime.KUBERNETES:
        from include.markets_ops.jobs.kubernetes_runtime import ModelJobPodOperator, PodSettings, pod_kwargs

        return ModelJobPodOperator, {**common, **pod_kwargs(spec, PodSettings.from_environ(environ))}
    from include.markets_ops.jobs.local_runtime import LocalJobOperator

    return LocalJobOperator, {**common, "job": spec.name}


def model_job(
    task_id: str,
    job: str,
    arguments: Any,
    environ: Mapping[str, str] | None = None,
    extra_links: tuple[Any, ...] = (),
    **task_kwargs: Any,
) -> Any:
    """An operator running ``settlement-model <job> <arguments>`` in the configured runtime.

    ``arguments`` is a list of strings, a template, or an XComArg (resolved when the task runs);
    ``extra_links`` are this task's operator extra links (links.ArtifactLink with a resolver).
    """
    operator_class, kwargs = _operator_class_and_kwargs(job, environ)
    operator = operator_class(task_id=task_id, arguments=arguments, **{**kwargs, **task_kwargs})
    if extra_links:
        operator.operator_extra_links = tuple(extra_links)  # per task: the class attribute is shared
    return operator


def mapped_model_job(
    task_id: str, job: str, arguments: Any, environ: Mapping[str, str] | None = None, **task_kwargs: Any
) -> Any:
    """One mapped task instance per argument list in ``arguments`` (dynamic task mapping)."""
    operator_class, kwargs = _operator_class_and_kwargs(job, environ)
    return operator_class.partial(task_id=task_id, **{**kwargs, **task_kwargs}).expand(arguments=arguments)
