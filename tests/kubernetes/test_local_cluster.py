"""The local cluster itself: loopback only, Airflow's rights, the manifests, and a clean stop.

These run before the tests that start model pods through Airflow (file order); the last one
stops the cluster, checks that nothing was left behind and starts it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devstack.config import REPO
from devstack.k8s import cluster
from tests.kubernetes.conftest import Lane, probe_pod, wait_for
from tests.support.sockets import is_loopback, sockets_of

OVERLAYS = cluster.MANIFESTS / "overlays"


def test_the_cluster_listens_on_and_talks_to_127_0_0_1_only(
    lane: Lane, run_probe, stack: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    """Every socket of every process of the lane (control plane, node, shims, containers),
    sampled while a model-image pod holds connections to the stack's PostgreSQL and S3."""
    postgres, s3 = int(stack["POSTGRES_PORT"]), int(stack["S3_ENDPOINT_URL"].rsplit(":", 1)[1])
    hold = (
        "import socket, time\n"
        f"held = [socket.create_connection(('127.0.0.1', port), timeout=5) for port in ({postgres}, {s3})]\n"
        "print('connected', flush=True)\n"
        "time.sleep(60)\n"
    )
    run_probe(probe_pod("loopback-probe", lane.model_image, ["python3", "-c", hold]))
    wait_for(
        lambda: (
            "connected" in lane.kubectl("logs", "loopback-probe", "-n", lane.namespace, check=False).stdout
        ),
        90,
        "the probe pod connects to PostgreSQL and S3",
    )
    seen = []
    for _ in range(10):
        pids = cluster.lane_pids()
        seen += sockets_of(set(pids.values()))
        time.sleep(0.3)
    names = set(cluster.lane_pids())
    assert {
        "k8s-etcd",
        "k8s-apiserver",
        "k8s-controller-manager",
        "k8s-scheduler",
        "k8s-node",
        "k8s-containerd",
    } <= names
    assert any(name.startswith("container process") for name in names), names

    listeners = {s for s in seen if s.listening}
    assert listeners, "no listening socket found: the sampler saw nothing"
    assert [str(s) for s in listeners if s.local[0] != "127.0.0.1"] == []
    connected = {s for s in seen if s.connected}
    assert [str(s) for s in connected if not is_loopback(s.remote[0])] == []
    # The sampler did see the pod's own connections (from inside its container).
    assert {postgres, s3} <= {s.remote[1] for s in connected}


def test_airflow_may_run_pods_in_its_namespace_and_nothing_else(lane: Lane) -> None:
    def can(verb: str, resource: str, namespace: str | None = None) -> bool:
        where = ["-n", namespace] if namespace else ["--all-namespaces"]
        resource, _, subresource = resource.partition("/")  # can-i reads "pods/x" as the pod named x
        if subresource:
            where.append(f"--subresource={subresource}")
        result = lane.kubectl("auth", "can-i", verb, resource, *where, as_airflow=True, check=False)
        return result.stdout.strip() == "yes"

    ns = lane.namespace
    for verb in ("create", "get", "list", "watch", "patch", "delete"):
        assert can(verb, "pods", ns), verb
    assert can("get", "pods/log", ns)
    assert can("list", "events", ns)

    refused = [
        ("get", "secrets", ns),
        ("create", "pods/exec", ns),
        ("create", "pods", "default"),
        ("list", "pods", "kube-system"),
        ("create", "deployments", ns),
        ("create", "rolebindings", ns),
        ("update", "configmaps", ns),
        ("list", "nodes", None),
        ("list", "namespaces", None),
    ]
    assert [r for r in refused if can(*r)] == []
    # And for real: the API server refuses the requests themselves.
    secret = lane.kubectl("get", "secret", "settlement-model-s3", "-n", ns, as_airflow=True, check=False)
    assert secret.returncode != 0
    assert "Forbidden" in secret.stderr
    nodes = lane.kubectl("get", "nodes", as_airflow=True, check=False)
    assert nodes.returncode != 0
    assert "Forbidden" in nodes.stderr


def test_the_model_pods_get_no_kubernetes_token(lane: Lane) -> None:
    """A pod of the model ServiceAccount that says nothing about tokens still gets none."""
    pod = probe_pod("token-check", lane.model_image, ["true"])
    del pod["spec"]["automountServiceAccountToken"]
    admitted = json.loads(
        lane.kubectl(
            "create", "-n", lane.namespace, "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(pod)
        ).stdout
    )
    volumes = [volume["name"] for volume in admitted["spec"].get("volumes", [])]
    assert not [name for name in volumes if name.startswith("kube-api-access")], volumes
    mounts = admitted["spec"]["containers"][0].get("volumeMounts", [])
    assert not [m for m in mounts if "serviceaccount" in m["mountPath"]], mounts


def _rendered(directory: Path, lane: Lane) -> list[dict]:  # type: ignore[type-arg]
    return [doc for doc in yaml.safe_load_all(lane.kubectl("kustomize", str(directory)).stdout) if doc]


def test_the_manifests_are_valid_for_the_cluster_version(lane: Lane, stack: dict[str, str]) -> None:
    import kubernetes_validate

    from devstack.k8s.manifests import render_templates

    server = lane.json("version")["serverVersion"]
    version = f"{server['major']}.{server['minor']}.0"
    assert version == "1.35.0"
    documents = _rendered(OVERLAYS / "local", lane) + _rendered(OVERLAYS / "production", lane)
    documents += [doc for doc in yaml.safe_load_all(render_templates(stack)) if doc]
    kinds = sorted({doc["kind"] for doc in documents})
    assert kinds == [
        "ConfigMap",
        "LimitRange",
        "Namespace",
        "NetworkPolicy",
        "ResourceQuota",
        "Role",
        "RoleBinding",
        "Secret",
        "ServiceAccount",
    ]
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    # The production overlay as the API server itself would take it (admission included),
    # over the local objects of the same names (a dry run: nothing changes).
    applied = lane.kubectl(
        "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-k", str(OVERLAYS / "production")
    )
    assert "networkpolicy.networking.k8s.io/settlement-model-egress serverside-applied" in applied.stdout


def _production_pod(namespace: str) -> dict:  # type: ignore[type-arg]
    """The scoring job's pod exactly as the operator renders it for a production cluster (no host
    network), as the API server would receive it."""
    from kubernetes.client import ApiClient

    from include.markets_ops.jobs.kubernetes_runtime import ModelJobPodOperator, PodSettings, pod_kwargs
    from include.markets_ops.jobs.spec import JOBS

    settings = PodSettings(
        image="registry.example.com/markets-ops/settlement-model:1.0.0", namespace=namespace
    )
    operator = ModelJobPodOperator(
        task_id="score_shard",
        arguments=["--business-date", "2026-11-27"],
        **pod_kwargs(JOBS["score"], settings),
    )
    pod = ApiClient().sanitize_for_serialization(operator.build_pod_request_obj(dry_run=True))
    assert pod["spec"].get("hostNetwork") is False
    return dict(pod)


def test_a_restricted_namespace_admits_the_production_pod_and_refuses_root_or_privileged(lane: Lane) -> None:
    """PodSecurity `restricted`, enforced by the real API server (server-side dry runs, in a
    scratch namespace labelled as the base and production overlays label theirs)."""
    namespace = "markets-ops-restricted-check"
    labels = yaml.safe_load((cluster.MANIFESTS / "base" / "namespace.yaml").read_text())["metadata"]["labels"]
    scratch = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "settlement-model", "namespace": namespace},
    }
    lane.kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [scratch, account]}),
    )
    try:

        def admit(pod: dict) -> subprocess.CompletedProcess[str]:  # type: ignore[type-arg]
            return lane.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False)

        production = _production_pod(namespace)
        admitted = admit(production)
        assert admitted.returncode == 0, admitted.stderr
        assert "Warning" not in admitted.stderr  # not even a warn-level PodSecurity finding

        as_root = json.loads(json.dumps(production))
        as_root["spec"]["securityContext"].update({"runAsNonRoot": False, "runAsUser": 0})
        as_root["spec"]["containers"][0]["securityContext"].update({"runAsNonRoot": False, "runAsUser": 0})
        refused = admit(as_root)
        assert refused.returncode != 0
        assert 'violates PodSecurity "restricted:v1.35"' in refused.stderr
        assert "runAsNonRoot != true" in refused.stderr

        privileged = json.loads(json.dumps(production))
        privileged["spec"]["containers"][0]["securityContext"].update(
            {"privileged": True, "allowPrivilegeEscalation": True}
        )
        refused = admit(privileged)
        assert refused.returncode != 0
        assert "privileged" in refused.stderr
    finally:
        lane.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_stopping_the_cluster_leaves_nothing_behind(lane: Lane, run_probe) -> None:  # type: ignore[no-untyped-def]
    """make k8s-down with a pod running: every process of the lane ends (its containers and
    containerd's shims too); no mount, cgroup, listener, sysctl or iptables rule is left.
    Then the cluster starts again (warm) for the tests that follow."""
    run_probe(probe_pod("running-at-stop", lane.model_image, ["sleep", "600"]))
    wait_for(
        lambda: (
            lane.json("get", "pod", "running-at-stop", "-n", lane.namespace)["status"].get("phase")
            == "Running"
        ),
        90,
        "the probe pod runs",
    )
    pids = cluster.lane_pids()
    assert any(name.startswith("shim") for name in pids)
    assert any(name.startswith("container") for name in pids)
    recorded_host = json.loads(cluster.HOST_STATE.read_text())
    ports = [port for names in cluster.PORTS.values() for port in names]

    subprocess.run([sys.executable, "-m", "devstack.k8s", "down"], check=True, cwd=REPO, timeout=300)

    alive = {name: pid for name, pid in pids.items() if cluster.is_running(pid)}
    assert alive == {}
    mounts = Path("/proc/mounts").read_text()
    assert [line for line in mounts.splitlines() if str(cluster.K8S_DIR) in line or "kubelet" in line] == []
    assert [path for path in cluster.leftover_cgroup_dirs() if path.exists()] == []
    from devstack.config import port as stack_port
    from devstack.process import port_is_free

    assert [name for name in ports if not port_is_free(stack_port(name))] == []
    assert cluster.host_state() == recorded_host
    assert not [p for p in ("/run/containerd", "/var/lib/kubelet", "/var/log/pods") if os.path.exists(p)]

    from devstack.process import log_file

    images_log = log_file("k8s-images")
    logged_before = images_log.stat().st_size
    started = subprocess.run(
        [sys.executable, "-m", "devstack.k8s", "up"],
        cwd=REPO,
        timeout=900,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    assert cluster.is_up()
    # Nothing changed under model_pod/: the images are reused, not built again.
    with images_log.open() as log:
        log.seek(logged_before)
        assert [line for line in log if line.startswith("==> k8s images:")] == []


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
