"""``python -m devstack.k8s up|down|status|build`` (make k8s-up, k8s-down, k8s-status; build: the
binaries and images only, as make test does beside its first tests)."""

from __future__ import annotations

import argparse
import sys
import time

from devstack import stack_env
from devstack.config import STACK_ENV_FILE, Stack
from devstack.k8s import cluster, manifests
from devstack.process import StackError


def up(stack: Stack) -> None:
    started = time.monotonic()
    print(
        "  k8s: building or reusing the binaries and images (cold: ~25 min; see var/log/k8s-build.log)",
        flush=True,
    )
    images = cluster.up(stack)
    manifests.apply(stack, cluster.BIN_LINK, images, stack_env.stack_values(stack))
    if STACK_ENV_FILE.exists():  # the rest of the stack is up: tell its users where the cluster is
        stack_env.write(stack)
    print(
        f"""  k8s: ready ({time.monotonic() - started:.0f}s)
  Kubernetes     https://127.0.0.1:{stack.ports["k8s_apiserver"]}   KUBECONFIG={cluster.ADMIN_KUBECONFIG}
  Model image    {images.model}
  Namespace      {cluster.NAMESPACE}   (kubectl get pods -n {cluster.NAMESPACE})
  Airflow        connection kubernetes_default -> {cluster.AIRFLOW_KUBECONFIG}
  Run the nightly pipeline's model jobs as pods: JOB_RUNTIME=kubernetes make demo
""",
        flush=True,
    )


def status(stack: Stack) -> int:
    rows = cluster.status(stack)
    for name, state, address in rows:
        print(f"  {name:<24} {state:<22} {address}")
    return 0 if all(state != "stopped" for _, state, _ in rows) else 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.k8s", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "build"])
    args = parser.parse_args(argv)
    try:
        if args.command == "down":
            print(f"  k8s: {'stopped' if cluster.down() else 'was not running'}", flush=True)
            return 0
        if args.command == "build":
            started = time.monotonic()
            cluster.build()
            print(f"  k8s: binaries and images ready ({time.monotonic() - started:.0f}s)", flush=True)
            return 0
        stack = Stack.load()
        if args.command == "up":
            up(stack)
        else:
            return status(stack)
    except StackError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
