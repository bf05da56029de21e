"""The unit tests mirror the packages: a module's tests are tests/unit/<package path>/test_<module>.py,
so that each module's tests are found by its name (``__main__.py``'s are test_main.py).

A few test files check a rule across modules rather than one module; each is listed with why.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "tests" / "unit"
# tests/unit/<folder> mirrors <package>.
MIRRORED = {
    "markets_ops": REPO / "include" / "markets_ops",
    "model_pod": REPO / "model_pod" / "settlement_model",
    "plugins": REPO / "plugins",
    "devstack": REPO / "devstack",
    "benchmarks": REPO / "benchmarks",
}
CROSS_MODULE = {
    "markets_ops/test_job_contract_agreement.py": "both sides of the job contract agree (DAG side and pod)",
    "markets_ops/alerting/test_every_rule_is_tested.py": "every rule file has integration tests",
}


def module_of(test_file: Path) -> Path | None:
    """The module a unit test file is named after, or None when the name says no module."""
    relative = test_file.relative_to(UNIT)
    folder, *inner = relative.parts
    package = MIRRORED.get(folder)
    if package is None:
        return None
    name = relative.stem.removeprefix("test_")
    return package.joinpath(*inner[:-1], "__main__.py" if name == "main" else f"{name}.py")


def test_every_unit_test_file_is_named_after_its_module() -> None:
    test_files = sorted(UNIT.rglob("test_*.py"))
    assert len(test_files) > 40  # the tree was read
    unmatched = [
        str(path.relative_to(UNIT))
        for path in test_files
        if str(path.relative_to(UNIT)) not in CROSS_MODULE
        and ((module := module_of(path)) is None or not module.exists())
    ]
    assert unmatched == []


def test_the_cross_module_tests_are_still_there() -> None:
    assert [name for name in CROSS_MODULE if not (UNIT / name).exists()] == []


def test_a_test_file_named_after_no_module_is_found() -> None:
    assert module_of(UNIT / "markets_ops" / "feed" / "test_landing.py") == (
        REPO / "include" / "markets_ops" / "feed" / "landing.py"
    )
    assert not module_of(UNIT / "markets_ops" / "feed" / "test_feed_landing.py").exists()  # type: ignore[union-attr]
    assert module_of(UNIT / "elsewhere" / "test_x.py") is None
