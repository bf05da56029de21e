"""The jobs' spec: which runtime the deployment configures."""

from __future__ import annotations

import pytest

from include.markets_ops.jobs import spec


def test_the_local_runtime_is_the_default() -> None:
    assert spec.job_runtime({}) is spec.Runtime.LOCAL
    assert spec.job_runtime({"JOB_RUNTIME": " Kubernetes "}) is spec.Runtime.KUBERNETES


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="JOB_RUNTIME='docker'"):
        spec.job_runtime({"JOB_RUNTIME": "docker"})
