#!/usr/bin/env bash
# make test, once the stack and the cluster are up: the tests that talk to them, and beside them
# the tests that need neither (unit, DAG and architecture tests: four fifths of the tests, five
# minutes of CPU). The stack's tests spend most of their time waiting on Airflow runs, pods and
# paused services, so the others use the cores those leave idle instead of adding their minutes
# at the end. Their output is kept in var/log/tests-without-stack.log and printed after.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var/log
without_stack_log=var/log/tests-without-stack.log

# nice: a busy core delays the stack's runs (their timeouts), not these tests' results.
nice -n 10 "$PY" -m pytest -m "not integration" -q --durations=10 >"$without_stack_log" 2>&1 &
without_stack=$!

"$PY" -m pytest -m integration --durations=30
with_stack_status=$?

wait "$without_stack"
without_stack_status=$?
echo
echo "==> the tests that need no stack ($without_stack_log)"
cat "$without_stack_log"

if [ "$with_stack_status" -ne 0 ] || [ "$without_stack_status" -ne 0 ]; then
  echo "make test: failed (tests with the stack: exit $with_stack_status; without: exit $without_stack_status)" >&2
  exit 1
fi
