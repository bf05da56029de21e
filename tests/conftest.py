"""Shared test set-up.

Unit tests need nothing running. Tests marked ``integration`` or ``acceptance`` talk to the
real local stack that `make up` starts (make test starts it first); without it they fail
with a message saying so, they are never skipped.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
STACK_ENV = REPO / "var" / "stack.env"

# Airflow reads its configuration when first imported: give the test process its own
# AIRFLOW_HOME (no examples, a throwaway SQLite metadata DB), never the stack's.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-tests-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.pop("AIRFLOW_CONFIG", None)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ.setdefault("NO_PROXY", "*")


def read_stack_env() -> dict[str, str]:
    if not STACK_ENV.exists():
        raise RuntimeError(f"{STACK_ENV} is missing: start the local stack with `make up` (make test does).")
    values: dict[str, str] = {}
    for line in STACK_ENV.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, raw = line.partition("=")
            values[key] = shlex.split(raw)[0] if raw else ""
    return values


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    """The running stack's URLs and credentials; also exposes the project's Airflow
    connections and variables to this process, as the workers see them, and makes this process
    MLflow's pipeline writer, as the model jobs are (MLflow's client reads these variables)."""
    values = read_stack_env()
    for key, value in values.items():
        if key.startswith("AIRFLOW_CONN_") or key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            os.environ[key] = value
    os.environ["AIRFLOW_VAR_S3_BUCKET"] = values["S3_BUCKET"]
    return values


@pytest.fixture(scope="session")
def airflow_api(stack: dict[str, str]):
    from devstack.airflow_api import AirflowApi

    return AirflowApi(stack["AIRFLOW_API_URL"], stack["AIRFLOW_USERNAME"], stack["AIRFLOW_PASSWORD"])


@pytest.fixture(scope="session")
def nightly_schedule_switched_off(airflow_api) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Tests unpause nightly DAGs to trigger them for their own dates; unpausing also lets the
    scheduler start tonight's scheduled run on the shared stack. The schedule switch makes
    those automatic runs skip themselves for the session (include/markets_ops/airflow/switch.py);
    the value it had is restored afterwards."""
    from include.markets_ops.airflow.switch import SWITCH_VARIABLE

    previous = airflow_api.get_variable(SWITCH_VARIABLE)
    airflow_api.set_variable(SWITCH_VARIABLE, "false")
    yield
    airflow_api.set_variable(SWITCH_VARIABLE, previous if previous is not None else "true")


@pytest.fixture(scope="session")
def pipeline_history(stack: dict[str, str]):  # type: ignore[no-untyped-def]
    """The stored synthetic world's first business days seeded clean, once per session
    (tests/integration/pipeline_stack.py)."""
    from tests.integration.pipeline_stack import ensure_clean_history

    return ensure_clean_history(stack)


@pytest.fixture(scope="session")
def pipeline_champion(airflow_api, stack: dict[str, str], pipeline_history) -> str:  # type: ignore[no-untyped-def]
    """The champion model version; without one, the training DAG trains and promotes one on
    the clean history."""
    from tests.integration.pipeline_stack import ensure_champion

    return ensure_champion(airflow_api, stack, pipeline_history)


@pytest.fixture(scope="session")
def nightly_pipeline(airflow_api, pipeline_history, pipeline_champion: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One night of the pipeline, run once per session through the REST API: the clean
    history, a champion, then the feed, scoring, reconciliation and alerts for the business
    date after the history (manual runs)."""
    from tests.integration.pipeline_stack import run_pipeline

    return {
        "day": pipeline_history.next_date,
        "champion": pipeline_champion,
        "runs": run_pipeline(airflow_api, pipeline_history),
    }


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    phases = item.stash.setdefault(PHASE_SECONDS, {})
    phases[report.when] = report.duration
    if report.when == "teardown" and sum(phases.values()) >= SLOW_TEST_SECONDS:
        # Where a CI run's time went, even when its time limit cuts off --durations' summary.
        spent = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in phases.items())
        _say_now(item.config, f"{item.nodeid} took {sum(phases.values()):.0f} s ({spent})")
    if report.failed:
        item.stash.setdefault(FAILED_PHASES, set()).add(report.when)
        _say_now(item.config, f"{item.nodeid} failed in {report.when}: {_last_line(report)}")
    return report


def _last_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message.splitlines()[0][:300] if crash and crash.message else str(report.longrepr)[-300:]


def _say_now(config: pytest.Config, line: str) -> None:
    """Written as it happens, not in the summary at the end: a CI run stopped by its time limit
    never prints that summary."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(f"\n  {line}", yellow=True)


FAILED_PHASES = pytest.StashKey[set[str]]()
PHASE_SECONDS = pytest.StashKey[dict[str, float]]()
SLOW_TEST_SECONDS = 30


@pytest.fixture(autouse=True)
def stack_restored_after_a_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A stack test that fails may leave a service down or paused (a fault test stopped by its
    timeout between the fault and the recovery): bring it back, so that one failure does not
    become a failure of every test after it."""
    yield
    if request.node.get_closest_marker("integration") and request.node.stash.get(FAILED_PHASES, set()):
        from tests.support.faults import restore_stack

        if restored := restore_stack():
            _say_now(request.config, f"stack restored after {request.node.nodeid}: {', '.join(restored)}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration and tests/acceptance needs the stack; under
    # tests/kubernetes, the stack and the local cluster too.
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/tests/acceptance/" in path:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.acceptance)
        if "/tests/kubernetes/" in path:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.kubernetes)
    # The cluster's tests last, in file order: some switch Airflow to JOB_RUNTIME=kubernetes
    # (its components restart), which no other test expects.
    items.sort(key=lambda item: "/tests/kubernetes/" in str(item.path))
