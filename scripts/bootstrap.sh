#!/usr/bin/env bash
# make install: put on this machine what the local stack needs, and nothing that is already there.
#   - Debian packages: PostgreSQL 15, Java 17, Maven, Chromium (browser tests)   [root only]
#   - .venv: Python 3.11 virtualenv synced to requirements-dev.txt (the lock) with uv
#   - var/cache/kafka/libs: the Kafka broker's jars from Maven Central
#   --kubernetes: only the local cluster's Debian packages: containerd, runc, buildah, debootstrap
# Each step is skipped when its inputs have not changed (stamp files under var/cache).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=$REPO/var/cache
UV_VERSION=0.13.9
mkdir -p "$CACHE"

log() { printf '==> %s\n' "$*"; }
stamp_ok() { [ -f "$CACHE/$1.stamp" ] && [ "$(cat "$CACHE/$1.stamp")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$CACHE/$1.stamp"; }

# --- Debian packages ------------------------------------------------------------------
install_debian_packages() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "ERROR: missing Debian packages: $*; install them (sudo apt-get install $*) and rerun." >&2
    exit 1
  fi
  log "installing Debian packages: $*"
  # Keep the packages' own services (PostgreSQL on 5432, containerd) from starting: the
  # stack runs its own.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

if [ "${1:-}" = "--kubernetes" ]; then
  missing=()
  for package in containerd runc buildah debootstrap; do  # each installs a program of its name
    command -v "$package" >/dev/null || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] || install_debian_packages "${missing[@]}"
  exit 0
fi

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15 postgresql-client-15)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] || install_debian_packages "${missing[@]}"

# --- Python virtualenv from the lock ----------------------------------------------------
PYTHON=${PYTHON:-$(command -v python3.11 || true)}
[ -n "$PYTHON" ] || { echo "ERROR: python3.11 is required (the stack's Python)." >&2; exit 1; }
UV=$CACHE/uv/bin/uv
if [ ! -x "$UV" ] || ! "$UV" --version | grep -q "$UV_VERSION"; then
  log "installing uv $UV_VERSION"
  "$PYTHON" -m venv "$CACHE/uv"
  "$CACHE/uv/bin/pip" install -q "uv==$UV_VERSION"
fi
# (The key's last word changes when the sync itself changes, so existing venvs are synced again.)
venv_key=$( (cat requirements-dev.txt model_pod/pyproject.toml; echo bytecode) | sha256sum | cut -c1-16)
if ! stamp_ok venv "$venv_key" || [ ! -x .venv/bin/python ]; then
  log "syncing .venv with requirements-dev.txt"
  [ -x .venv/bin/python ] || "$UV" venv -q -p "$PYTHON" .venv
  # Byte-compiled once here: with PYTHONDONTWRITEBYTECODE set (as on these machines) Python
  # never writes .pyc files itself, and every process would compile Airflow and the
  # Kubernetes client from source again (the KubernetesPodOperator's import: 48 s instead of 4).
  "$UV" pip sync -q --compile-bytecode -p .venv/bin/python requirements-dev.txt
  # The pod package, as the model image installs it (its dependencies are in the lock).
  "$UV" pip install -q -p .venv/bin/python --no-deps -e ./model_pod
  stamp_set venv "$venv_key"
fi

# --- Kafka jars from Maven Central --------------------------------------------------------
kafka_key=$(sha256sum devstack/kafka/pom.xml | cut -c1-16)
if ! stamp_ok kafka "$kafka_key" || ! ls "$CACHE"/kafka/libs/kafka_2.13-*.jar >/dev/null 2>&1; then
  log "resolving the Kafka jars from Maven Central"
  rm -rf "$CACHE/kafka/libs"
  mvn -q -B -f devstack/kafka/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$CACHE/kafka/libs"
  stamp_set kafka "$kafka_key"
fi
log "install complete"
