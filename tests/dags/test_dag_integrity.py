"""Every DAG file imports cleanly through Airflow's own DagBag, does no I/O at parse time,
and carries what the operations team needs (owner, tags, retries, documentation)."""

from __future__ import annotations

import socket
from pathlib import Path
from unittest import mock

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))
DOC_SECTIONS = ("Owner", "What it does", "How to triage", "How to rerun")


@pytest.fixture(scope="module")
def parse_activity():
    """Import every DAG file while recording network connections and lookups of
    connections and variables (as Airflow's test_should_not_run_hook_connections does)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook, Variable

    network: list[object] = []
    real_connect = socket.socket.connect

    def recording_connect(sock: socket.socket, address: object) -> object:
        network.append(address)
        return real_connect(sock, address)

    with (
        mock.patch.object(socket.socket, "connect", recording_connect),
        mock.patch.object(
            BaseHook, "get_connection", side_effect=AssertionError("connection lookup at parse")
        ) as conn,
        mock.patch.object(Variable, "get", side_effect=AssertionError("Variable.get at parse")) as var,
    ):
        dagbag = DagBag(dag_folder=DAGS_FOLDER)
    return dagbag, network, conn, var


def test_the_dags_folder_has_dag_files() -> None:
    # Guards the tests below against checking an empty or wrong folder.
    assert DAGS_FOLDER.is_absolute()
    assert len(DAG_FILES) >= 1


def test_every_file_imports_without_errors(parse_activity) -> None:
    dagbag, _, _, _ = parse_activity
    assert dagbag.import_errors == {}
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAG_FILES}


def test_parsing_touches_no_database_network_connection_or_variable(parse_activity) -> None:
    _, network, conn, var = parse_activity
    assert network == []
    assert conn.call_count == 0
    assert var.call_count == 0


def test_every_dag_is_documented_owned_tagged_and_retried(parse_activity) -> None:
    dagbag, _, _, _ = parse_activity
    problems = []
    for dag_id, dag in dagbag.dags.items():
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        missing = [section for section in DOC_SECTIONS if section not in (dag.doc_md or "")]
        if missing:
            problems.append(f"{dag_id}: doc_md lacks {missing}")
        for task in dag.tasks:
            if not task.owner or task.owner == "airflow":
                problems.append(f"{dag_id}.{task.task_id}: no owner")
            if task.retries < 2:
                problems.append(f"{dag_id}.{task.task_id}: retries={task.retries}")
    assert problems == []
