"""The Kubernetes runtime's deployment settings: pinned images only, settings from MODEL_POD_*.

The module is imported inside each test, as in the DAGs: it loads the Kubernetes provider
(tests/dags/test_pod_specs.py renders the pods themselves).
"""

from __future__ import annotations

import pytest


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
    from include.markets_ops.jobs.kubernetes_runtime import validate_image

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
    from include.markets_ops.jobs.kubernetes_runtime import validate_image

    with pytest.raises(ValueError, match="MODEL_POD_IMAGE"):
        validate_image(image)


def test_pod_settings_come_from_the_deployment_environment() -> None:
    from include.markets_ops.jobs.kubernetes_runtime import PodSettings

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
    from include.markets_ops.jobs.kubernetes_runtime import PodSettings

    with pytest.raises(ValueError, match="needs MODEL_POD_IMAGE"):
        PodSettings.from_environ({})
    with pytest.raises(ValueError, match="MODEL_POD_NODE_SELECTOR must be a JSON dict"):
        PodSettings.from_environ({"MODEL_POD_IMAGE": "m:1", "MODEL_POD_NODE_SELECTOR": "[]"})
