#!/usr/bin/env bash
# The local cluster's images, built without Docker and without a registry, into a machine-level
# cache outside the clone (keyed by their inputs, so a second clone and CI reuse them):
#   base   Debian 12 minbase + python3 (3.11) from Debian's packages (debootstrap): the model
#          image's base, passed to model_pod/Dockerfile as its BASE_IMAGE build argument
#   pause  the pod sandbox image: the static pause binary from the Kubernetes module (build.sh)
#   model  model_pod/Dockerfile itself, built by buildah on that base
# Each is written as an OCI archive that `ctr images import` loads into the cluster's containerd.
# Usage: images.sh <pause-binary>; prints one line per image: "<name>=<OCI archive> <reference>".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${MARKETS_OPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/markets-ops}
IMAGES=$CACHE/k8s-images
pause_binary=$1
log() { printf '==> k8s images: %s\n' "$*" >&2; }
mkdir -p "$IMAGES"
exec 9>"$IMAGES/build.lock"
flock 9

# buildah keeps its layers in the machine cache too; it runs in a private mount namespace
# (below) so that none of its overlay mounts is ever visible on the host.
storage=(--root "$IMAGES/buildah/storage" --runroot "$IMAGES/buildah/run" --storage-driver overlay)
buildah_() { unshare -m --propagation private buildah "${storage[@]}" "$@"; }

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the model image needs from its base: Python 3.11 and venv (the Dockerfile makes one).
BASE_PACKAGES=python3,python3-venv
BASE_RECIPE=1  # bump when build_base changes what it makes
base_key=$(printf '%s\n' "$DEBIAN_SUITE" "$BASE_PACKAGES" "$BASE_RECIPE" | sha256sum | cut -c1-12)
BASE_REF=localhost/markets-ops/debian-python:12-$base_key

build_base() {
  if buildah_ inspect --type image "$BASE_REF" >/dev/null 2>&1; then return; fi
  log "base: debootstrap $DEBIAN_SUITE minbase + $BASE_PACKAGES (a few minutes, once per machine)"
  local rootfs=$IMAGES/base-$base_key.rootfs
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >&2
  # Nothing at run time needs the package lists, caches, documentation or logs.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*
  local container
  container=$(buildah_ from scratch)
  # One layer: the whole root filesystem, owners and modes kept.
  buildah_ copy "$container" "$rootfs" / >/dev/null
  buildah_ config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd /bin/bash "$container"
  buildah_ commit --rm "$container" "$BASE_REF" >&2
  rm -rf "$rootfs"
}

# --- pause: the pod sandbox's one static program --------------------------------------------------
pause_key=$(sha256sum "$pause_binary" | cut -c1-12)
PAUSE_REF=localhost/markets-ops/pause:$pause_key
build_pause() {
  if buildah_ inspect --type image "$PAUSE_REF" >/dev/null 2>&1; then return; fi
  log "pause"
  local container
  container=$(buildah_ from scratch)
  buildah_ copy --chmod 0755 "$container" "$pause_binary" /pause >/dev/null
  buildah_ config --entrypoint '["/pause"]' --user 65535:65535 "$container"
  buildah_ commit --rm "$container" "$PAUSE_REF" >&2
}

# --- model: model_pod/Dockerfile, as a production build runs it ------------------------------------
# Rebuilt only when what the Dockerfile copies (the package, its lock) or the Dockerfile changes.
model_inputs_hash() {
  (cd "$repo" && find model_pod/Dockerfile model_pod/requirements.txt model_pod/pyproject.toml \
      model_pod/settlement_model -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
    | sort -z | xargs -0 sha256sum; echo "$BASE_REF") | sha256sum | cut -c1-12
}
model_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/model_pod/pyproject.toml")
MODEL_REF=localhost/markets-ops/settlement-model:$model_version-$(model_inputs_hash)
build_model() {
  if buildah_ inspect --type image "$MODEL_REF" >/dev/null 2>&1; then return; fi
  log "model: model_pod/Dockerfile on $BASE_REF (the first build downloads the lock's wheels)"
  local base_digest
  base_digest=$(buildah_ inspect --type image --format '{{.FromImageDigest}}' "$BASE_REF")
  # The RUN steps download the lock's wheels with the machine's trust store (this machine
  # reaches PyPI through a TLS-inspecting proxy): mounted for the build only, never in the image.
  local pip_conf=$IMAGES/pip.conf
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$pip_conf"
  # --isolation chroot: RUN steps need no user namespaces or runc here; --layers: a change to
  # the package alone reuses the dependencies' layer.
  (cd "$repo" && buildah_ build --isolation chroot --layers --pull=never \
    --volume /etc/ssl/certs:/etc/ssl/certs:ro --volume "$pip_conf:/etc/pip.conf:ro" \
    --build-arg "BASE_IMAGE=$BASE_REF@$base_digest" \
    -f model_pod/Dockerfile -t "$MODEL_REF" .) >&2
}

# --- archives for containerd ------------------------------------------------------------------------
archive() {  # <reference>: an OCI archive named after the image's digest (written once)
  local reference=$1 digest file
  digest=$(buildah_ inspect --type image --format '{{.FromImageDigest}}' "$reference")
  file=$IMAGES/archives/${reference##*/}-${digest#sha256:}.oci.tar
  file=${file//:/_}
  if [ ! -f "$file" ]; then
    mkdir -p "$IMAGES/archives"
    # Uncompressed: the archive only travels to containerd on this machine, and compressing
    # a gigabyte of layers on two cores costs a minute at every code change.
    buildah_ push --quiet --disable-compression "$reference" "oci-archive:$file.partial:$reference" >&2
    mv "$file.partial" "$file"
  fi
  echo "$file"
}

build_base
build_pause
build_model
echo "pause=$(archive "$PAUSE_REF") $PAUSE_REF"
echo "model=$(archive "$MODEL_REF") $MODEL_REF"
