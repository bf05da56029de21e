"""The job factory: the runtime switch, the cost of parsing, and the pinned-image rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from include.markets_ops import jobs

REPO = Path(__file__).resolve().parents[3]


def test_the_local_runtime_is_the_default() -> None:
    assert jobs.job_runtime({}) is jobs.Runtime.LOCAL
    assert jobs.job_runtime({"JOB_RUNTIME": " Kubernetes "}) is jobs.Runtime.KUBERNETES


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="JOB_RUNTIME='docker'"):
        jobs.job_runtime({"JOB_RUNTIME": "docker"})


def test_the_local_runtime_gives_a_local_job_operator_with_the_jobs_limits() -> None:
    from include.markets_ops.local_jobs import LocalJobOperator

    operator = jobs.model_job("train_model", "train", ["--training-date", "2026-11-20"], environ={})
    assert isinstance(operator, LocalJobOperator)
    assert operator.command()[1:] == ["-m", "settlement_model", "train", "--training-date", "2026-11-20"]
    assert operator.pool == jobs.POOL
    assert operator.execution_timeout == jobs.JOBS["train"].execution_timeout


def test_parsing_a_dag_with_the_local_runtime_does_not_import_the_kubernetes_provider() -> None:
    code = (
        "import sys; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r}); assert not bag.import_errors, bag.import_errors; "
        "print(sorted(m for m in ('kubernetes', 'kubernetes_asyncio', "
        "'airflow.providers.cncf.kubernetes.operators.pod') if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "JOB_RUNTIME": "local"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert completed.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/markets-ops/settlement-model:0.1.0",
        "settlement-model:2026.11.1",
        "registry.example.com:5000/ml/settlement-model@sha256:" + "a" * 64,
        "registry.example.com/ml/settlement-model:0.1.0@sha256:" + "0" * 64,
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    from include.markets_ops.kubernetes_jobs import validate_image

    assert validate_image(image) == image


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/markets-ops/settlement-model",
        "registry.example.com/markets-ops/settlement-model:latest",
        "settlement-model@sha256:1234",
        "",
    ],
)
def test_unpinned_images_are_refused(image: str) -> None:
    from include.markets_ops.kubernetes_jobs import validate_image

    with pytest.raises(ValueError, match="MODEL_POD_IMAGE"):
        validate_image(image)


def test_pod_settings_come_from_the_deployment_environment() -> None:
    from include.markets_ops.kubernetes_jobs import PodSettings

    settings = PodSettings.from_environ(
        {
            "MODEL_POD_IMAGE": "registry.example.com/ml/settlement-model:1.2.3",
            "MODEL_POD_NAMESPACE": "ml-batch",
            "MODEL_POD_NODE_SELECTOR": '{"workload": "batch"}',
            "MODEL_POD_TOLERATIONS": '[{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}]',
            "MODEL_POD_IMAGE_PULL_SECRETS": "registry-a,registry-b",  # pragma: allowlist secret
        }
    )
    assert settings.namespace == "ml-batch"
    assert settings.node_selector == {"workload": "batch"}
    assert settings.tolerations[0]["key"] == "batch"
    assert settings.image_pull_secrets == ("registry-a", "registry-b")
    assert settings.service_account == "settlement-model"


def test_kubernetes_without_an_image_or_with_bad_json_is_refused() -> None:
    from include.markets_ops.kubernetes_jobs import PodSettings

    with pytest.raises(ValueError, match="needs MODEL_POD_IMAGE"):
        PodSettings.from_environ({})
    with pytest.raises(ValueError, match="MODEL_POD_NODE_SELECTOR must be a JSON dict"):
        PodSettings.from_environ({"MODEL_POD_IMAGE": "m:1", "MODEL_POD_NODE_SELECTOR": "[]"})
