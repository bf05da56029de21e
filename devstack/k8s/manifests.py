"""Apply ``deploy/kubernetes`` to the local cluster and give Airflow what it needs to use it.

- the ``local`` overlay, server-side (the same manifests a production cluster gets, plus what a
  loopback-only cluster needs);
- the ConfigMap and Secret templates, filled from this checkout's stack values (var/stack.env);
- the model pods' OpenLineage Secret: the same transport as the Airflow tasks' events;
- ``var/k8s/airflow.kubeconfig``: the airflow-worker ServiceAccount's token, so Airflow acts
  with exactly its Role's rights;
- ``var/k8s/deployment.json``: the MODEL_POD_* settings Airflow's processes get (the pinned
  image by digest, the namespace, the host network).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import yaml

from devstack.config import Stack
from devstack.k8s import cluster
from devstack.process import StackError, write_private

FIELD_MANAGER = "markets-ops-devstack"
TEMPLATES = ("settlement-model-config.yaml", "settlement-model-secrets.yaml")
# A Secret's name (MODEL_POD_LINEAGE_SECRET), not a secret.
LINEAGE_SECRET = "settlement-model-lineage"  # noqa: S105  # nosec B105  # pragma: allowlist secret


def render_templates(values: dict[str, str]) -> str:
    """The ConfigMap and Secrets with their ${NAME} placeholders filled (never written to disk)."""
    from devstack.settings import fill_placeholders

    documents = []
    for name in TEMPLATES:
        for document in yaml.safe_load_all((cluster.MANIFESTS / "templates" / name).read_text()):
            documents.append(fill_placeholders(document, values))
    return yaml.safe_dump_all(documents)


def lineage_secret(stack: Stack) -> dict[str, Any]:
    """The OpenLineage client's configuration for the model pods (key ``config-json``, read as
    OPENLINEAGE_CLIENT_CONFIG_JSON): the transport the Airflow tasks' events go through. Optional
    in production (no MODEL_POD_LINEAGE_SECRET, no lineage), so it is not one of the templates."""
    from devstack.airflow import lineage_client_config

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": LINEAGE_SECRET,
            "namespace": cluster.NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "markets-ops"},
        },
        "type": "Opaque",
        "stringData": {"config-json": json.dumps(lineage_client_config(stack))},
    }


def apply(stack: Stack, bin_dir: Path, images: cluster.Images, stack_values: dict[str, str]) -> None:
    """Apply the local overlay, then the ConfigMap and Secrets filled from the stack's values."""
    overlay = cluster.MANIFESTS / "overlays" / "local"
    cluster.kubectl(bin_dir, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-k", str(overlay))
    rendered = render_templates(stack_values) + yaml.safe_dump(lineage_secret(stack), explicit_start=True)
    cluster.kubectl(
        bin_dir, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-", stdin=rendered
    )
    write_airflow_kubeconfig(stack, bin_dir)
    write_deployment(images)


def _token(bin_dir: Path) -> str:
    """The airflow-worker token, once the token controller has filled its Secret."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        secret = json.loads(
            cluster.kubectl(
                bin_dir,
                "get",
                "secret",
                cluster.AIRFLOW_TOKEN_SECRET,
                "-n",
                cluster.NAMESPACE,
                "-o",
                "json",
                check=False,
            )
            or "{}"
        )
        token = (secret.get("data") or {}).get("token")
        if token:
            return base64.b64decode(token).decode()
        time.sleep(0.5)
    raise StackError(f"the Secret {cluster.NAMESPACE}/{cluster.AIRFLOW_TOKEN_SECRET} got no token within 60s")


def write_airflow_kubeconfig(stack: Stack, bin_dir: Path) -> None:
    config = cluster.kubeconfig(stack, cluster.AIRFLOW_SERVICE_ACCOUNT, {"token": _token(bin_dir)})
    config["contexts"][0]["context"]["namespace"] = cluster.NAMESPACE
    write_private(cluster.AIRFLOW_KUBECONFIG, yaml.safe_dump(config))


def deployment_settings(images: cluster.Images) -> dict[str, Any]:
    """MODEL_POD_* for Airflow's processes (docs/pod-contract.md, "Kubernetes deployment settings")."""
    return {
        "MODEL_POD_IMAGE": images.model,
        "MODEL_POD_NAMESPACE": cluster.NAMESPACE,
        # The local cluster has no pod network: the pods reach the stack on 127.0.0.1.
        "MODEL_POD_HOST_NETWORK": "true",
        "MODEL_POD_LINEAGE_SECRET": LINEAGE_SECRET,
    }


def write_deployment(images: cluster.Images) -> None:
    cluster.DEPLOYMENT_ENV.write_text(json.dumps(deployment_settings(images), indent=2) + "\n")
