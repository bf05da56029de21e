"""Every DAG serializes and deserializes as the dag-processor and the scheduler do it.

A custom timetable is stored by its qualified name and found again among the plugins'
registered timetables: a DAG that imports the class by another module path (for instance
``plugins.business_day_timetable``) parses fine but fails here, as it would in the
dag-processor ("Timetable class ... is not registered")."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=DAGS_FOLDER)
    assert bag.import_errors == {}
    assert bag.dags, f"no DAGs parsed from {DAGS_FOLDER}"
    return bag


def test_every_dag_round_trips_through_dag_serialization(dagbag) -> None:
    from airflow.serialization.encoders import encode_timetable
    from airflow.serialization.serialized_objects import DagSerialization

    failures = {}
    for dag_id, dag in dagbag.dags.items():
        try:
            serialized = DagSerialization.to_dict(dag)
            restored = DagSerialization.from_dict(serialized)
        except Exception as error:  # noqa: BLE001  (collect every DAG's failure, then report)
            failures[dag_id] = repr(error)
            continue
        if encode_timetable(restored.timetable) != serialized["dag"]["timetable"]:
            failures[dag_id] = f"timetable changed: {serialized['dag']['timetable']}"
    assert failures == {}
