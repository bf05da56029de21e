"""Airflow plugin: registers the nightly deadlines' custom references
(include/markets_ops/airflow/deadlines.py), so that the scheduler can read them back from the
serialized DAGs."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.markets_ops.airflow.deadlines import NightlyCutoff, QueuedAtPlusVariable


class NightlyDeadlinesPlugin(AirflowPlugin):
    name = "nightly_deadlines"
    deadline_references = [QueuedAtPlusVariable, NightlyCutoff]
