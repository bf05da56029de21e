"""The Airflow side of the pipelines: everything that sees a DAG, its context or its run.

DAG defaults and tags, trigger-form params, the run's business date, dry runs, extra links,
the nightly switch, failure and lateness callbacks, deadlines, assets and schedules, and the
lookups of Airflow connections and Variables (``connections``). The pipelines' ``tasks.py``
modules use these; their logic modules never do (docs/architecture.md, the Airflow boundary).
"""
