"""No import circles: between the project's modules, and between the packages of
include/markets_ops/ (two modules of two packages importing each other's package is a circle
too, though no two modules form one). Lazy imports count: they only move the cost."""

from __future__ import annotations

from pathlib import Path

from tests.support.import_graph import circles, describe, graph, modules, package_graph


def test_the_graph_sees_the_project() -> None:
    found = modules()
    # Each layer and the pod package are read (a wrong root would find nothing and pass).
    for module in (
        "include.markets_ops.airflow.connections",
        "include.markets_ops.jobs.factory",
        "include.markets_ops.feed.tasks",
        "settlement_model.cli",
        "business_day_timetable",
    ):
        assert module in found
    assert "include.markets_ops.airflow.connections" in graph()["include.markets_ops.feed.tasks"]


def test_no_module_imports_itself_back() -> None:
    assert describe(circles(graph())) == []


def test_no_package_of_include_markets_ops_imports_itself_back() -> None:
    assert describe(circles(package_graph(graph()))) == []


def test_a_planted_circle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "include" / "markets_ops"
    for name in ("feed", "synthetic"):
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text("")
    (package / "feed" / "tasks.py").write_text("from include.markets_ops.synthetic import upstream\n")
    (package / "synthetic" / "upstream.py").write_text(
        "def deliver():\n    from include.markets_ops.feed import landing\n"
    )
    (package / "feed" / "landing.py").write_text("")
    (tmp_path / "plugins").mkdir()

    edges = graph(tmp_path)

    assert circles(edges) == []  # no two modules import each other...
    assert describe(circles(package_graph(edges))) == [  # ...but the packages do
        "include.markets_ops.feed <-> include.markets_ops.synthetic"
    ]
