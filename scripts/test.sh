#!/usr/bin/env bash
# make test, once the stack is up. The stack's tests spend most of their time waiting on Airflow
# runs, pods and paused services, so what needs neither runs beside them, on the cores they leave
# idle, instead of adding its minutes before or after:
#   - the tests that need no stack (unit, DAG and architecture tests: four fifths of the tests,
#     five minutes of CPU);
#   - the local cluster's build: its binaries and images, from the machine's cache (seconds), or
#     compiled on a machine that never built them (about 25 minutes). The cluster itself starts
#     when its tests are reached, last (tests/kubernetes/conftest.py), instead of idling through
#     the others.
# Their outputs are kept under var/log/ and printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var/log
without_stack_log=var/log/tests-without-stack.log
cluster_build_log=var/log/k8s-build-beside-tests.log

# nice: a busy core delays the stack's runs (their timeouts), not these results.
nice -n 10 "$PY" -m pytest -m "not integration" -q --durations=10 >"$without_stack_log" 2>&1 &
without_stack=$!
nice -n 19 "$PY" -m devstack.k8s build >"$cluster_build_log" 2>&1 &
cluster_build=$!

MARKETS_OPS_START_CLUSTER=1 "$PY" -m pytest -m integration --durations=30
stack_status=$?

cluster_build_status=0
wait "$cluster_build" || cluster_build_status=$?
without_stack_status=0
wait "$without_stack" || without_stack_status=$?
echo
echo "==> the cluster's build ($cluster_build_log)"
cat "$cluster_build_log"
echo "==> the tests that need no stack ($without_stack_log)"
cat "$without_stack_log"

if [ "$stack_status" -ne 0 ] || [ "$cluster_build_status" -ne 0 ] || [ "$without_stack_status" -ne 0 ]; then
  echo "make test: failed (exit status of the stack's and the cluster's tests: $stack_status; the" \
    "cluster's build: $cluster_build_status; the tests that need no stack: $without_stack_status)" >&2
  exit 1
fi
