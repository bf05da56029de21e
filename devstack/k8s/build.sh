#!/usr/bin/env bash
# Builds the local cluster's programs from the Go module proxy into a machine-level cache, outside
# the clone, so that a second clone and CI on the same machine reuse them:
#   $CACHE/k8s/<key>/bin/   kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd pause
# <key> is the Kubernetes and etcd versions plus a hash of the build inputs (the pinned go.mod/go.sum
# under build/ and the Go version): a change to any of them builds into a new folder.
# Prints the bin folder on stdout; progress on stderr. Cold: ~20 min on 2 cores; warm: instant.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${MARKETS_OPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/markets-ops}
export GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local

k8s_version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$here/build/kubernetes/go.mod")
etcd_version=$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" {print $3}' "$here/build/etcd/go.mod")
inputs_hash=$( (cat "$here"/build/kubernetes/* "$here"/build/etcd/*; go version) | sha256sum | cut -c1-12)
out=$CACHE/k8s/kubernetes-$k8s_version-etcd-$etcd_version-$inputs_hash
log() { printf '==> k8s build: %s\n' "$*" >&2; }

mkdir -p "$CACHE/k8s"
exec 9>"$CACHE/k8s/build.lock"
flock 9  # another clone building the same thing: wait for it, then reuse its result
if [ -f "$out/complete" ]; then echo "$out/bin"; exit 0; fi
rm -rf "$out.partial" && mkdir -p "$out.partial/bin"
started=$(date +%s)

# Kubernetes reports the version it was stamped with (kubectl version, /version, the node's
# kubeletVersion); a plain `go build` would say v0.0.0-master.
minor=${k8s_version#v1.}; minor=${minor%%.*}
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
log "Kubernetes $k8s_version: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl"
(cd "$here/build/kubernetes" && go build -trimpath -ldflags "-s -w$stamp" -o "$out.partial/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl)

log "etcd $etcd_version"
(cd "$here/build/etcd" && go build -trimpath -ldflags "-s -w" -o "$out.partial/bin/etcd" .)

# The sandbox ("pause") container's program, from the same Kubernetes module: a static binary
# so that its image needs no libc and no registry.
log "pause (gcc, static)"
pause_src=$GOMODCACHE/k8s.io/kubernetes@$k8s_version/build/pause/linux/pause.c
(cd "$here/build/kubernetes" && go mod download k8s.io/kubernetes)
gcc -Os -Wall -Werror -static -DVERSION="$k8s_version" -o "$out.partial/bin/pause" "$pause_src"
strip "$out.partial/bin/pause"

"$out.partial/bin/kubectl" version --client=true -o json | grep -q "\"gitVersion\": \"$k8s_version\""
touch "$out.partial/complete"
rm -rf "$out" && mv "$out.partial" "$out"
log "built in $(( $(date +%s) - started )) s into $out"
echo "$out/bin"
