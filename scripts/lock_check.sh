#!/usr/bin/env bash
# Fail when a lock file no longer matches what `make lock` would generate from its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=var/cache/uv/bin/uv
ARGS=(--python-version 3.11 --quiet --no-header)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # <lock file> <input> [constraint]
  local lock=$1 input=$2 out=$tmp/$(echo "$1" | tr / _)
  cp "$lock" "$out"  # existing pins are the resolver's preferences, as in `make lock`
  "$UV" pip compile "${ARGS[@]}" "$input" ${3:+-c "$3"} -o "$out"
  if ! diff -u "$lock" "$out"; then
    echo "ERROR: $lock is out of date with $input: run \`make lock\` and commit the result." >&2
    return 1
  fi
}
check requirements.txt requirements.in
check requirements-dev.txt requirements-dev.in requirements.txt
check model_pod/requirements.txt model_pod/requirements.in requirements.txt
echo "lock files match their inputs"
