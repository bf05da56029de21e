"""Tests against the real local Kubernetes cluster (``make k8s-up``; ``make test`` starts it).

Without the cluster they fail with a message saying so; they are never skipped. They run
after every other test (tests/conftest.py orders them last): the ones that run the nightly
jobs as pods switch Airflow to JOB_RUNTIME=kubernetes, which restarts its components.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.k8s import cluster


@dataclass(frozen=True)
class Lane:
    """The running cluster: its kubectl, as the admin or as Airflow's ServiceAccount."""

    bin_dir: Path
    namespace: str
    model_image: str

    def kubectl(
        self, *args: str, as_airflow: bool = False, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        config = cluster.AIRFLOW_KUBECONFIG if as_airflow else cluster.ADMIN_KUBECONFIG
        result = subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={config}", "--request-timeout=30s", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def pods(self, selector: str) -> list[dict[str, Any]]:
        return list(self.json("get", "pods", "-n", self.namespace, "-l", selector)["items"])


# Set by make test (scripts/test.sh): the cluster is built beside the first tests and started
# here, when its tests are reached, rather than idling through the others.
START_CLUSTER_VARIABLE = "MARKETS_OPS_START_CLUSTER"


@pytest.fixture(scope="session")
def lane() -> Lane:
    if not cluster.is_up() and os.environ.get(START_CLUSTER_VARIABLE) == "1":
        _start_cluster()
    if not cluster.is_up() or not cluster.DEPLOYMENT_ENV.exists():
        raise RuntimeError(
            "the local Kubernetes cluster is not up: start it with `make k8s-up` (make test does)"
        )
    deployment = json.loads(cluster.DEPLOYMENT_ENV.read_text())
    return Lane(cluster.BIN_LINK.resolve(), cluster.NAMESPACE, deployment["MODEL_POD_IMAGE"])


def _start_cluster() -> None:
    """make k8s-up, from the binaries and images make test built meanwhile (its build holds the
    cache's lock until done: this waits for it, then reuses what it built)."""
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "devstack.k8s", "up"],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"make k8s-up failed:\n{result.stdout}{result.stderr}")


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 1.0) -> Any:
    """Poll until ``check`` returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f}s")


def probe_pod(name: str, image: str, command: list[str], **spec: Any) -> dict[str, Any]:
    """A pod of the model image as the local overlay admits it (host network), non-root and
    locked down as the model pods are."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "settlement-model", "test": name}},
        "spec": {
            "hostNetwork": True,
            "restartPolicy": "Never",
            "serviceAccountName": "settlement-model",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "base",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "256Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
            **spec,
        },
    }


def use_runtime(runtime: str) -> None:
    """Airflow's processes with JOB_RUNTIME=<runtime> (and the lane's MODEL_POD_* settings and
    check DAGs, the cluster being up): devstack restarts its components when this differs from
    what they run with, and does nothing otherwise."""
    from devstack import airflow
    from devstack.config import Stack

    os.environ["JOB_RUNTIME"] = runtime
    airflow.start(Stack.load())


@pytest.fixture
def airflow_on_the_lane(airflow_api: Any, lane: Lane) -> Any:
    """The REST API of an Airflow that runs the model jobs as pods on the local cluster. Left
    so afterwards: `make up` switches back to the runtime its caller asks for."""
    use_runtime("kubernetes")
    return airflow_api


@pytest.fixture(scope="session", autouse=True)
def _automatic_runs_off(nightly_schedule_switched_off: None) -> None:
    """See tests/conftest.py: no scheduled or asset-triggered run does work during the tests."""


@pytest.fixture
def run_probe(lane: Lane) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Create probe pods in the model namespace; delete them afterwards."""
    created: list[str] = []

    def create(pod: dict[str, Any]) -> None:
        lane.kubectl("apply", "-n", lane.namespace, "-f", "-", stdin=json.dumps(pod))
        created.append(pod["metadata"]["name"])

    yield create
    for name in created:
        lane.kubectl("delete", "pod", name, "-n", lane.namespace, "--wait=false", check=False)
