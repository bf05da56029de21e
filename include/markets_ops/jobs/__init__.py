"""The model jobs: the one way DAGs run them, ``factory.model_job`` / ``factory.mapped_model_job``.

Two runtimes behind the same declaration, chosen by the ``JOB_RUNTIME`` environment variable
of the Airflow deployment (read when DAG files are parsed, like any deployment setting):

- ``local`` (the default, the embedded runtime): the job's entry point runs as a separate
  local process (``python -m settlement_model <job> <arguments>``) with only the job
  contract's environment, built from the Airflow connections when the task runs
  (local_runtime.py).
- ``kubernetes``: a KubernetesPodOperator running the pinned model image, configured as
  production needs it (kubernetes_runtime.py, which alone imports the Kubernetes provider:
  importing it costs seconds, so the local runtime never pays it at parse time).

Both take the same ``arguments`` (templated, and mappable with ``expand``), and both fail the
task when the job exits non-zero. The job contract is docs/pod-contract.md.

Dependencies point one way: ``spec`` (what each job is and needs) imports no runtime; each
runtime imports ``spec``; ``factory`` imports ``spec`` and, when it builds an operator, the
configured runtime.
"""
