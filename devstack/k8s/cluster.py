"""Start, check and stop the local single-node Kubernetes cluster (``make k8s-up|k8s-down|k8s-status``).

Processes, each recorded by pid under ``var/run`` and logged to ``var/log/k8s-<name>.log``:
etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and the node (containerd and
the kubelet in one private mount namespace: node.sh says why). Every listener binds 127.0.0.1,
and nothing connects anywhere else: no pod network (a loopback-only CNI configuration), no
kube-proxy, a service range nothing routes to; the model pods of the local overlay use the
host's network to reach the stack on 127.0.0.1.

``down`` stops only what ``up`` started, by recorded pid (the containers, containerd's shims,
the node, the control plane), then removes the cluster's cgroups. Its mounts live and die in
the node's private mount namespace, and the machine's sysctls are never written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack import pki
from devstack.config import HOST, REPO, VAR, Stack
from devstack.process import (
    StackError,
    log_file,
    pid_file,
    port_is_free,
    private_file,
    recorded_pid,
    start_detached,
    stop_group,
    tail,
    wait_until,
    write_private,
)

LANE_DIR = Path(__file__).resolve().parent
K8S_DIR = VAR / "k8s"
PKI_DIR = K8S_DIR / "pki"
ADMIN_KUBECONFIG = K8S_DIR / "admin.kubeconfig"
AIRFLOW_KUBECONFIG = K8S_DIR / "airflow.kubeconfig"
DEPLOYMENT_ENV = K8S_DIR / "deployment.json"  # what Airflow needs to run the model pods here
BIN_LINK = K8S_DIR / "bin"  # -> the cached binaries: PATH=var/k8s/bin:$PATH gives this cluster's kubectl
HOST_STATE = K8S_DIR / "host-state.json"  # the machine's settings before the node first started
CONTAINERD_SOCKET = K8S_DIR / "run" / "containerd.sock"
# containerd's bundle directory per task: each shim works in its own (see _recorded_shim_pids)
TASK_BUNDLES = K8S_DIR / "containerd" / "state" / "io.containerd.runtime.v2.task"
MANIFESTS = REPO / "deploy" / "kubernetes"
NAMESPACE = "markets-ops-ml"
AIRFLOW_SERVICE_ACCOUNT = "airflow-worker"
# A Secret's name, not a secret:
AIRFLOW_TOKEN_SECRET = "airflow-worker-token"  # noqa: S105  # nosec B105  # pragma: allowlist secret
# The cluster's cgroups, per checkout, under every cgroup v1 controller (and removed by down).
CGROUP_ROOT = "/markets-ops-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
CGROUP_FS = Path("/sys/fs/cgroup")

ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER, NODE = (
    "k8s-etcd",
    "k8s-apiserver",
    "k8s-controller-manager",
    "k8s-scheduler",
    "k8s-node",
)
CONTAINERD = "k8s-containerd"  # started by the node's script; its pid file is written there
CONTROL_PLANE = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER)
# process -> the ports it listens on (config.DEFAULT_PORTS names), all on 127.0.0.1
PORTS: dict[str, tuple[str, ...]] = {
    ETCD: ("k8s_etcd", "k8s_etcd_peer"),
    APISERVER: ("k8s_apiserver",),
    CONTROLLER_MANAGER: ("k8s_controller_manager",),
    SCHEDULER: ("k8s_scheduler",),
    NODE: ("k8s_kubelet", "k8s_kubelet_healthz", "k8s_containerd_stream"),
}


@dataclass(frozen=True)
class Images:
    """The images the lane built and imported: references as the cluster knows them."""

    pause: str
    model: str  # name:tag@sha256:digest, what MODEL_POD_IMAGE is set to


# --- preconditions --------------------------------------------------------------------------------


def node_name() -> str:
    """The node is named after the machine, whose name must resolve to 127.0.0.1: the API server
    reaches the kubelet by that name, and nothing here may connect to another address."""
    name = socket.gethostname().lower()
    addresses = {info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)}
    if addresses != {HOST}:
        raise StackError(
            f"the hostname {name!r} resolves to {sorted(addresses)}, not only {HOST}: the local cluster "
            f"reaches its kubelet by that name; add '{HOST} {name}' to /etc/hosts"
        )
    return name


def check_machine() -> None:
    if os.geteuid() != 0:
        raise StackError("the local cluster runs containerd and the kubelet, which need root (run as root)")
    for hidden in ("/run", "/var/lib", "/var/log"):
        if str(REPO).startswith(hidden + "/"):
            raise StackError(
                f"the checkout {REPO} lies under {hidden}, which the node replaces: clone elsewhere"
            )
    missing = [
        tool
        for tool in ("containerd", "ctr", "runc", "unshare", "buildah", "debootstrap")
        if not shutil.which(tool)
    ]
    if missing:
        raise StackError(f"missing programs: {', '.join(missing)} (make k8s-up installs them as root)")


def check_ports(stack: Stack) -> None:
    busy = [
        f"{stack.ports[name]} ({process}; override with STACK_{name.upper()}_PORT)"
        for process, names in PORTS.items()
        if recorded_pid(process) is None
        for name in names
        if not port_is_free(stack.ports[name])
    ]
    if busy:
        raise StackError("ports already in use by another program: " + ", ".join(busy))


# --- build ------------------------------------------------------------------------------------------


def build_binaries() -> Path:
    """The cluster's programs from the machine cache; built from the Go module proxy when missing."""
    return Path(_run_logged("k8s-build", [str(LANE_DIR / "build.sh")], timeout=3600).strip().splitlines()[-1])


def build_images(bin_dir: Path) -> dict[str, tuple[Path, str]]:
    """image name -> (OCI archive, reference) from images.sh (cached by their inputs)."""
    output = _run_logged("k8s-images", [str(LANE_DIR / "images.sh"), str(bin_dir / "pause")], timeout=3600)
    archives = {}
    for line in output.splitlines():
        name, _, rest = line.partition("=")
        if name in ("pause", "model") and rest:
            archive, reference = rest.split()
            archives[name] = (Path(archive), reference)
    return archives


def _run_logged(name: str, argv: list[str], timeout: float) -> str:
    """Run a build step, its progress appended to var/log/<name>.log; return its stdout."""
    log = private_file(log_file(name))
    with log.open("ab") as stream:
        stream.write(f"\n===== {time.strftime('%F %T')} running: {' '.join(argv)}\n".encode())
        stream.flush()
        try:
            result = subprocess.run(  # the lane's own scripts  # nosec B603
                argv, stdout=subprocess.PIPE, stderr=stream, timeout=timeout, check=False, cwd=REPO
            )
        except subprocess.TimeoutExpired as error:
            raise StackError(f"{name} did not finish within {timeout:g}s; see its log: {log}") from error
    if result.returncode != 0:
        raise StackError(f"{name} failed (exit code {result.returncode}); see its log: {log}\n" + tail(log))
    return result.stdout.decode()


# --- configuration files ------------------------------------------------------------------------------


def kubeconfig(stack: Stack, user: str, credentials: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "markets-ops-local",
                "cluster": {
                    "server": f"https://{HOST}:{stack.ports['k8s_apiserver']}",
                    "certificate-authority": str(PKI_DIR / "ca.crt"),
                },
            }
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [
            {"name": "markets-ops-local", "context": {"cluster": "markets-ops-local", "user": user}}
        ],
        "current-context": "markets-ops-local",
    }


def _client_certificate(identity: str) -> dict[str, str]:
    return {
        "client-certificate": str(PKI_DIR / f"{identity}.crt"),
        "client-key": str(PKI_DIR / f"{identity}.key"),
    }


def host_state() -> dict[str, str]:
    """What the node must leave as it found it: the sysctls the kubelet would write, and the
    machine's iptables rules (tests/kubernetes compare them after make k8s-down)."""
    state = {key: (Path("/proc/sys") / key).read_text().strip() for key in KUBELET_SYSCTLS}
    iptables = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)  # nosec B603 B607
    state["iptables"] = "\n".join(line for line in iptables.stdout.splitlines() if not line.startswith("#"))
    return state


# The kubelet sets these machine-wide at start unless they already hold its values
# (pkg/kubelet/cm/container_manager_linux.go); node.sh mounts a file of ours holding that
# value over each, inside the node's private mount namespace.
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}


def write_config(stack: Stack, images_pause: str) -> None:
    for directory in ("run", "containerd", "cni/net.d", "cni/bin", "kubelet", "pod-logs", "etcd", "sysctl"):
        (K8S_DIR / directory).mkdir(parents=True, exist_ok=True)
    for name, identity in (
        ("admin", "admin"),
        ("controller-manager", "controller-manager"),
        ("scheduler", "scheduler"),
        ("kubelet", "kubelet-client"),
    ):
        write_private(
            K8S_DIR / f"{name}.kubeconfig",
            yaml.safe_dump(kubeconfig(stack, name, _client_certificate(identity))),
        )
    (K8S_DIR / "containerd" / "config.toml").write_text(containerd_config(stack, images_pause))
    (K8S_DIR / "kubelet-config.yaml").write_text(yaml.safe_dump(kubelet_config(stack)))
    for key, value in KUBELET_SYSCTLS.items():
        (K8S_DIR / "sysctl" / key.replace("/", ".")).write_text(value + "\n")
    # Makes the runtime report its network ready; hostNetwork pods never call a CNI plugin,
    # and no pod network exists (nothing bridges or routes anywhere).
    (K8S_DIR / "cni" / "net.d" / "10-loopback.conflist").write_text(
        json.dumps({"cniVersion": "0.4.0", "name": "lo", "plugins": [{"type": "loopback"}]})
    )


def containerd_config(stack: Stack, pause_image: str) -> str:
    k8s = K8S_DIR
    return f"""# Generated by make k8s-up (devstack/k8s/cluster.py). containerd 1.6, config version 2.
version = 2
root = "{k8s}/containerd/root"
state = "{k8s}/containerd/state"
# Only what the CRI needs: no tracing exporters, no snapshotters this machine lacks.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{CONTAINERD_SOCKET}"
[ttrpc]
  address = "{CONTAINERD_SOCKET}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{k8s}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  # Loaded from the lane's own archive (images.sh): nothing is ever pulled.
  sandbox_image = "{pause_image}"
  # root here lacks CAP_SYS_RESOURCE: without this, runc fails every sandbox
  # ("can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  # kubectl exec/attach/port-forward go through this server: loopback only.
  stream_server_address = "{HOST}"
  stream_server_port = "{stack.ports["k8s_containerd_stream"]}"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{k8s}/cni/bin"
    conf_dir = "{k8s}/cni/net.d"
"""


def kubelet_config(stack: Stack) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": HOST,
        "port": stack.ports["k8s_kubelet"],
        "readOnlyPort": 0,
        "healthzBindAddress": HOST,
        "healthzPort": stack.ports["k8s_kubelet_healthz"],
        "tlsCertFile": str(PKI_DIR / "kubelet.crt"),
        "tlsPrivateKeyFile": str(PKI_DIR / "kubelet.key"),
        "rotateCertificates": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(PKI_DIR / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
        # This VM has cgroup v1 (hybrid) and no systemd: Kubernetes 1.35 still runs there if asked.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "cgroupRoot": CGROUP_ROOT,
        "failSwapOn": False,
        # The kubelet would otherwise add chains and rules to the machine's iptables.
        "makeIPTablesUtilChains": False,
        "volumePluginDir": str(K8S_DIR / "kubelet" / "volume-plugins"),
        "podLogsDir": "/var/log/pods",
        "resolvConf": "/etc/resolv.conf",
        "maxPods": 30,
        "serializeImagePulls": False,
        # The lane's images are imported, never pulled: image GC must never remove them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # A developer machine's disk is shared with everything else: evict only when nearly full.
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
            "nodefs.inodesFree": "2%",
        },
        "localStorageCapacityIsolation": True,
        "protectKernelDefaults": False,
    }


# --- processes ------------------------------------------------------------------------------------------


def _pki(name: str) -> str:
    return str(PKI_DIR / name)


def control_plane_argv(stack: Stack, bin_dir: Path) -> dict[str, list[str]]:
    p = stack.ports
    etcd_url = f"https://{HOST}:{p['k8s_etcd']}"
    peer_url = f"https://{HOST}:{p['k8s_etcd_peer']}"
    component_auth = lambda name: [  # noqa: E731
        f"--kubeconfig={K8S_DIR / f'{name}.kubeconfig'}",
        f"--authentication-kubeconfig={K8S_DIR / f'{name}.kubeconfig'}",
        f"--authorization-kubeconfig={K8S_DIR / f'{name}.kubeconfig'}",
        f"--bind-address={HOST}",
        f"--cert-dir={K8S_DIR / name}",
        f"--tls-cert-file={_pki(f'{name}.crt')}",
        f"--tls-private-key-file={_pki(f'{name}.key')}",
        # There is no aggregated API here, so no front-proxy CA to look up.
        "--authentication-skip-lookup=true",
        "--leader-elect=false",
        "--profiling=false",
    ]
    return {
        ETCD: [
            str(bin_dir / "etcd"),
            "--name=markets-ops",
            f"--data-dir={K8S_DIR / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=markets-ops={peer_url}",
            f"--cert-file={_pki('etcd.crt')}",
            f"--key-file={_pki('etcd.key')}",
            f"--trusted-ca-file={_pki('ca.crt')}",
            "--client-cert-auth=true",
            f"--peer-cert-file={_pki('etcd.crt')}",
            f"--peer-key-file={_pki('etcd.key')}",
            f"--peer-trusted-ca-file={_pki('ca.crt')}",
            "--peer-client-cert-auth=true",
            "--log-level=warn",
        ],
        APISERVER: [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--etcd-cafile={_pki('ca.crt')}",
            f"--etcd-certfile={_pki('apiserver-etcd-client.crt')}",
            f"--etcd-keyfile={_pki('apiserver-etcd-client.key')}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            f"--secure-port={p['k8s_apiserver']}",
            f"--cert-dir={K8S_DIR / 'apiserver'}",
            # A 127.0.0.1 endpoint for the `kubernetes` Service is invalid; nothing in the
            # cluster calls the API through that Service (the model pods mount no token).
            "--endpoint-reconciler-type=none",
            f"--service-cluster-ip-range={pki.SERVICE_RANGE}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction,PodSecurity",
            "--anonymous-auth=false",
            "--allow-privileged=false",
            f"--client-ca-file={_pki('ca.crt')}",
            f"--tls-cert-file={_pki('apiserver.crt')}",
            f"--tls-private-key-file={_pki('apiserver.key')}",
            f"--kubelet-client-certificate={_pki('apiserver-kubelet-client.crt')}",
            f"--kubelet-client-key={_pki('apiserver-kubelet-client.key')}",
            f"--kubelet-certificate-authority={_pki('ca.crt')}",
            # By name, which resolves to 127.0.0.1: the node's other addresses are never dialled.
            "--kubelet-preferred-address-types=Hostname",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={_pki('service-account.pub')}",
            f"--service-account-signing-key-file={_pki('service-account.key')}",
            "--profiling=false",
            f"--external-hostname={HOST}",
        ],
        CONTROLLER_MANAGER: [
            str(bin_dir / "kube-controller-manager"),
            *component_auth("controller-manager"),
            f"--secure-port={p['k8s_controller_manager']}",
            f"--service-account-private-key-file={_pki('service-account.key')}",
            f"--root-ca-file={_pki('ca.crt')}",
            "--use-service-account-credentials=true",
        ],
        SCHEDULER: [
            str(bin_dir / "kube-scheduler"),
            *component_auth("scheduler"),
            f"--secure-port={p['k8s_scheduler']}",
        ],
    }


def node_argv(bin_dir: Path) -> list[str]:
    return [
        "unshare",
        "--mount",
        "--propagation=private",
        "--",
        "bash",
        str(LANE_DIR / "node.sh"),
        str(K8S_DIR),
        str(bin_dir),
        str(pid_file(CONTAINERD)),
        str(log_file(CONTAINERD)),
    ]


def process_env(bin_dir: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("KUBECONFIG", "HTTP", "HTTPS"))
    }
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    env["NO_PROXY"] = "*"
    return env


# --- health --------------------------------------------------------------------------------------------


def _https_ok(url: str, cert: str | None) -> bool:
    import requests

    response = requests.get(
        url,
        cert=(_pki(f"{cert}.crt"), _pki(f"{cert}.key")) if cert else None,
        verify=_pki("ca.crt"),
        timeout=3,
    )
    return response.status_code == 200


def kubectl(
    bin_dir: Path, *args: str, stdin: str | None = None, timeout: float = 60, check: bool = True
) -> str:
    result = subprocess.run(  # our own kubectl  # nosec B603
        [str(bin_dir / "kubectl"), f"--kubeconfig={ADMIN_KUBECONFIG}", "--request-timeout=30s", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=process_env(bin_dir),
    )
    if check and result.returncode != 0:
        raise StackError(f"kubectl {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def node_ready(bin_dir: Path, name: str, since: dt.datetime | None = None) -> bool:
    """The node reports Ready; with ``since``, in a heartbeat after it (the node object outlives
    its kubelet: a Ready of the previous start stays for ~40 s, until the controller sees it is
    gone)."""
    node = json.loads(kubectl(bin_dir, "get", "node", name, "-o", "json", check=False) or "{}")
    conditions = node.get("status", {}).get("conditions", [])
    return any(
        c["type"] == "Ready"
        and c["status"] == "True"
        and (since is None or dt.datetime.fromisoformat(c["lastHeartbeatTime"]) >= since)
        for c in conditions
    )


# --- cgroups ------------------------------------------------------------------------------------------


def cgroup_dirs() -> list[Path]:
    """The cluster's cgroup under each cgroup v1 controller of this machine."""
    if not CGROUP_FS.is_dir():
        return []
    return [
        controller / CGROUP_ROOT.lstrip("/")
        for controller in sorted(CGROUP_FS.iterdir())
        if controller.is_dir() and controller.name != "unified" and (controller / "cgroup.procs").exists()
    ]


def create_cgroups() -> None:
    # The kubelet requires its cgroup root to exist under every controller.
    for directory in cgroup_dirs():
        directory.mkdir(exist_ok=True)


def processes_in_cgroups() -> set[int]:
    pids: set[int] = set()
    for directory in cgroup_dirs():
        if directory.exists():
            for procs in directory.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    pids.update(int(line) for line in procs.read_text().split())
    return pids


def leftover_cgroup_dirs() -> list[Path]:
    """Every cgroup of the cluster that may exist after a run: the ones create_cgroups makes, and
    the one the kubelet makes itself in the unified (v2) hierarchy a hybrid machine also mounts."""
    return [*cgroup_dirs(), CGROUP_FS / "unified" / CGROUP_ROOT.lstrip("/")]


def remove_cgroups() -> None:
    for directory in leftover_cgroup_dirs():
        if not directory.exists():
            continue
        # Deepest first: a cgroup can only be removed once it has no children. The kubelet may
        # still be removing some as we list them (a stop racing another).
        children: list[Path] = []
        with contextlib.suppress(FileNotFoundError):
            children = [path for path in directory.rglob("*") if path.is_dir()]
        for child in sorted(children, key=lambda path: -len(path.parts)):
            with contextlib.suppress(OSError):
                child.rmdir()
        with contextlib.suppress(OSError):
            directory.rmdir()


# --- up / down / status ------------------------------------------------------------------------------------


def is_up() -> bool:
    return all(recorded_pid(name) for name in (*CONTROL_PLANE, NODE))


def start_control_plane(stack: Stack, bin_dir: Path) -> None:
    argv = control_plane_argv(stack, bin_dir)
    env = process_env(bin_dir)
    p = stack.ports
    checks = {
        ETCD: lambda: _https_ok(f"https://{HOST}:{p['k8s_etcd']}/health", "etcd"),
        APISERVER: lambda: _https_ok(f"https://{HOST}:{p['k8s_apiserver']}/readyz", "admin"),
        CONTROLLER_MANAGER: lambda: _https_ok(f"https://{HOST}:{p['k8s_controller_manager']}/healthz", None),
        SCHEDULER: lambda: _https_ok(f"https://{HOST}:{p['k8s_scheduler']}/healthz", None),
    }
    for name in CONTROL_PLANE:
        if recorded_pid(name) is None:
            start_detached(name, argv[name], env=env, cwd=K8S_DIR)
        wait_until(name, checks[name], timeout=90, pid=recorded_pid(name))


def start_node(stack: Stack, bin_dir: Path) -> str:
    name = node_name()
    since = None
    if recorded_pid(NODE) is None:
        create_cgroups()
        # Heartbeats carry whole seconds: a second of margin.
        since = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
        start_detached(NODE, node_argv(bin_dir), env=process_env(bin_dir), cwd=K8S_DIR)
    wait_until(NODE, lambda: node_ready(bin_dir, name, since), timeout=120, pid=recorded_pid(NODE))
    return name


def import_images(bin_dir: Path, archives: dict[str, tuple[Path, str]]) -> Images:
    """Load the lane's OCI archives into containerd's Kubernetes namespace, and name each image by
    its digest too, so that a pod can reference it as name:tag@sha256:... (pinned)."""
    pinned: dict[str, str] = {}
    for name, (archive, reference) in archives.items():
        digest = _image_digest(reference)
        if digest is None:
            _ctr("images", "import", "--no-unpack=false", str(archive))
            digest = _image_digest(reference)
        if digest is None:
            raise StackError(f"the image {reference} is not in containerd after importing {archive}")
        repository = reference.rsplit(":", 1)[0]
        if _image_digest(f"{repository}@{digest}") is None:
            _ctr("images", "tag", reference, f"{repository}@{digest}")
        pinned[name] = f"{reference}@{digest}"
    return Images(pause=archives["pause"][1], model=pinned["model"])


def _ctr(*args: str) -> str:
    ctr = shutil.which("ctr")  # containerd's client, from Debian (check_machine)
    if ctr is None:
        raise StackError("missing program: ctr (make k8s-up installs containerd)")
    result = subprocess.run(  # nosec B603
        [ctr, f"--address={CONTAINERD_SOCKET}", "--namespace=k8s.io", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"ctr {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _image_digest(reference: str) -> str | None:
    for line in _ctr("images", "list").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == reference:
            return fields[2]
    return None


def up(stack: Stack) -> Images:
    """Build or reuse the binaries and images, start the cluster, import the images (the caller
    applies the manifests: manifests.apply)."""
    check_machine()
    check_ports(stack)
    name = node_name()
    bin_dir = build_binaries()
    archives = build_images(bin_dir)
    K8S_DIR.mkdir(parents=True, exist_ok=True)
    BIN_LINK.unlink(missing_ok=True)
    BIN_LINK.symlink_to(bin_dir)
    if recorded_pid(NODE) is None:
        HOST_STATE.write_text(json.dumps(host_state(), indent=2) + "\n")
    pki.ensure(PKI_DIR, name)
    write_config(stack, archives["pause"][1])
    start_control_plane(stack, bin_dir)
    start_node(stack, bin_dir)
    return import_images(bin_dir, archives)


def build() -> None:
    """Build (or find in the machine's cache) the binaries and images, without starting anything:
    ``up`` then reuses them. ``make test`` builds while the tests that need no cluster run."""
    check_machine()
    build_images(build_binaries())


def read_deployment() -> dict[str, str]:
    """The lane's MODEL_POD_* settings (written by manifests.write_deployment) when the cluster is
    up, else nothing."""
    if not is_up() or not DEPLOYMENT_ENV.exists():
        return {}
    return dict(json.loads(DEPLOYMENT_ENV.read_text()))


def down() -> bool:
    """Stop what up started: containers first (so no process outlives its shim), then the node,
    then the control plane; finally remove the cluster's cgroups."""
    stopped = False
    if recorded_pid(NODE) and CONTAINERD_SOCKET.exists():
        stopped |= _stop_containers()
    shim_pids = _recorded_shim_pids()
    stopped |= stop_group(NODE, timeout=30)
    stopped |= _stop_pid(CONTAINERD)
    for pid in shim_pids | _container_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for name in reversed(CONTROL_PLANE):
        stopped |= stop_group(name, timeout=30)
    _wait_gone(shim_pids, timeout=10)
    remove_cgroups()
    return stopped


def _stop_containers() -> bool:
    """Kill every container of the cluster through containerd (its tasks are what runs them)."""
    try:
        tasks = _ctr("tasks", "list", "--quiet").split()
    except (StackError, subprocess.TimeoutExpired):
        return False
    for task in tasks:
        with contextlib.suppress(StackError, subprocess.TimeoutExpired):
            _ctr("tasks", "kill", "--all", "--signal=SIGKILL", task)
    return bool(tasks)


def _recorded_shim_pids() -> set[int]:
    """containerd's shims: the processes working in a task bundle of this cluster's containerd
    (each shim runs in its bundle directory). They are not in containerd's process group:
    they outlive containerd by design, so down stops them itself."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if Path(os.readlink(proc / "cwd")).is_relative_to(TASK_BUNDLES) and is_running(
                    int(proc.name)
                ):
                    pids.add(int(proc.name))
    return pids


def _container_pids() -> set[int]:
    """The containers' first processes, as containerd recorded them (init.pid in each bundle),
    and every process in the cluster's cgroups."""
    pids = processes_in_cgroups()
    for path in TASK_BUNDLES.glob("*/*/init.pid"):
        with contextlib.suppress(ValueError, OSError):
            pids.add(int(path.read_text().strip()))
    return {pid for pid in pids if is_running(pid)}


def _stop_pid(name: str) -> bool:
    pid = recorded_pid(name)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    _wait_gone({pid}, timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    pid_file(name).unlink(missing_ok=True)
    return True


def is_running(pid: int) -> bool:
    """Running (a zombie is not: this machine's init does not reap the shims' orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids: set[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(is_running(pid) for pid in pids):
        time.sleep(0.2)


def lane_pids() -> dict[str, int]:
    """Every process the lane runs right now: its recorded processes, the shims, the containers."""
    pids = {name: pid for name in (*CONTROL_PLANE, NODE, CONTAINERD) if (pid := recorded_pid(name))}
    for pid in _recorded_shim_pids():
        pids[f"shim {pid}"] = pid
    for pid in _container_pids():
        pids.setdefault(f"container process {pid}", pid)
    return pids


def status(stack: Stack) -> list[tuple[str, str, str]]:
    rows = []
    for name, ports in PORTS.items():
        pid = recorded_pid(name)
        rows.append((name, f"running (pid {pid})" if pid else "stopped", f"{HOST}:{stack.ports[ports[0]]}"))
    return rows
