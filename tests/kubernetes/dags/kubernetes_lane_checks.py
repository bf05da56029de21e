"""Pod lifecycle checks: one DAG per case, each one task running the model image through the
project's own ModelJobPodOperator, configured exactly as the model jobs are (jobs/kubernetes_runtime.py),
with only the command, the resources and the case's timeouts changed.

Owner: ML platform (markets-ops). Loaded by the local stack only while its Kubernetes cluster
is up (devstack/airflow.py, the `kubernetes-lane-checks` bundle); tests/kubernetes triggers them
and asserts each task's final state, its tries, its pods and its message.

**How to use it by hand**: unpause a `k8s_check_*` DAG and trigger it; watch its pod with
`kubectl get pods -n markets-ops-ml -l lane-check=<case>`. `k8s_check_succeeds` is the smoke
test of a cluster deployment: it starts a pod of the pinned image with the production settings.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG
from kubernetes.client import models as k8s

from include.markets_ops.airflow.retries import RETRY_BY_CAUSE
from include.markets_ops.jobs.kubernetes_runtime import ModelJobPodOperator, PodSettings, pod_kwargs
from include.markets_ops.jobs.spec import JOBS

# The job's side of each case, in the model image's own Python: argv[1] is the case, argv[2]
# the task's try number.
JOB = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: os._exit(143))  # as settlement_model.cli does
case, try_number = sys.argv[1], int(sys.argv[2])
print(f"lane check {case}, try {try_number}", flush=True)
if case in ("exits_1", "exits_2", "exits_3"):
    sys.exit(int(case[-1]))
if case == "exceeds_memory":
    hog = bytearray(512 * 1024 * 1024)  # far past the 128 MiB limit: the kernel kills it
    hog[::4096] = b"x" * len(hog[::4096])
if case == "deleted_while_running" and try_number > 1:
    sys.exit(0)  # the retry after the deletion finishes
if case in ("deleted_while_running", "stopped_while_running", "times_out"):
    time.sleep(600)
print("done", flush=True)
"""

CASES: dict[str, dict[str, object]] = {
    "succeeds": {},
    "exits_1": {"retries": 1},
    "exits_2": {"retries": 1},
    "exits_3": {"retries": 1},
    "deleted_while_running": {"retries": 1},
    "stopped_while_running": {"retries": 1},
    "times_out": {"execution_timeout": dt.timedelta(seconds=40)},
    "exceeds_memory": {},
    "image_missing": {"startup_timeout_seconds": 120},
    # Settings that cannot work: each fails at once, naming the setting (retries not used).
    "namespace_unknown": {"namespace": "markets-ops-nowhere", "retries": 1},
    "service_account_unknown": {"service_account_name": "nobody", "retries": 1},
    "kubeconfig_invalid": {"kubernetes_conn_id": "kubernetes_invalid_kubeconfig", "retries": 1},
}
# The connection kubeconfig_invalid uses: tests/kubernetes creates it, pointing at no file.
INVALID_KUBECONFIG_CONN_ID = "kubernetes_invalid_kubeconfig"
# A digest no image has: IfNotPresent finds nothing, and the pull has nowhere to go.
MISSING_IMAGE_DIGEST = "sha256:" + "0" * 64

settings = PodSettings.from_environ()
for case, overrides in CASES.items():
    with DAG(
        dag_id=f"k8s_check_{case}",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        doc_md=__doc__,
        tags=["kubernetes-lane-check"],
        # The product's retry policy (airflow/defaults.py), with short delays: the exit codes 2
        # and 3 and the settings that cannot work fail at once, the other failures retry.
        default_args={
            "owner": "ml-platform",
            "retries": 0,
            "retry_delay": dt.timedelta(seconds=2),
            "retry_policy": RETRY_BY_CAUSE,
        },
    ):
        kwargs = pod_kwargs(JOBS["score"], settings)
        kwargs.update(
            {
                "name": f"lane-check-{case}",
                "cmds": ["python3", "-c", JOB],
                "labels": {**kwargs["labels"], "lane-check": case},
                # Small enough for the lane's two cores; the memory limit is what exceeds_memory meets.
                "container_resources": k8s.V1ResourceRequirements(
                    requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "128Mi"}
                ),
                "execution_timeout": dt.timedelta(minutes=15),
                **overrides,
            }
        )
        if case == "image_missing":
            kwargs["image"] = (
                settings.image.split("@")[0].rsplit(":", 1)[0] + f":missing@{MISSING_IMAGE_DIGEST}"
            )
        ModelJobPodOperator(task_id="job", arguments=[case, "{{ ti.try_number }}"], **kwargs)
