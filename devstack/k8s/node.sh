#!/usr/bin/env bash
# The node: containerd and the kubelet, together in a private mount namespace.
#   unshare -m --propagation private -- node.sh <state-dir> <bin-dir> <containerd-pid-file> <containerd-log>
# (the checkout must not lie under /run, /var/lib or /var/log, which are replaced here: cluster.py checks)
# Why a private mount namespace (both must share it):
#   - the kubelet writes VM-wide sysctls at start (vm.overcommit_memory, kernel.panic, ...): here
#     each is a file of ours bind-mounted over its /proc/sys entry, holding the value the kubelet
#     wants, so it finds nothing to change and the machine's settings stay as they were;
#   - containerd, its shims and the kubelet use fixed host paths (/run/containerd,
#     /var/lib/kubelet, /var/log/pods, /var/log/containers): private tmpfs and binds into the
#     checkout's var/k8s/ replace them, so nothing is created on the host;
#   - every mount they make (overlay root filesystems, secret volumes) stays in this namespace
#     and disappears with its last process: `make k8s-down` leaves no mount behind.
set -euo pipefail
state=$1
bin=$2
containerd_pid_file=$3
containerd_log=$4

# --- the machine's settings, as the kubelet wants to see them ---------------------------------
# One file per sysctl the kubelet would write (cluster.py, KUBELET_SYSCTLS), named after its
# /proc/sys path with dots, holding the kubelet's value.
for file in "$state"/sysctl/*; do
  key=$(basename "$file")
  mount --bind "$file" "/proc/sys/${key//.//}"
done

# --- fixed host paths, redirected -------------------------------------------------------------
mount -t tmpfs -o mode=0755,size=64m markets-ops-run /run
mkdir -p /run/containerd
for dir in /var/lib /var/log; do
  mount -t tmpfs -o mode=0755,size=16m "markets-ops-${dir//\//-}" "$dir"
done
mkdir -p /var/lib/kubelet /var/log/pods /var/log/containers "$state/kubelet" "$state/pod-logs"
mount --bind "$state/kubelet" /var/lib/kubelet
mount --bind "$state/pod-logs" /var/log/pods

# --- containerd, then the kubelet in its place ---------------------------------------------------
# A socket left by a containerd that was killed (a machine restart, a killed session) would pass
# the wait below at once and the kubelet would find nothing listening: remove it first.
rm -f "$state/run/containerd.sock"
containerd --config "$state/containerd/config.toml" >>"$containerd_log" 2>&1 &
echo $! >"$containerd_pid_file"
for _ in $(seq 1 100); do
  [ -S "$state/run/containerd.sock" ] && break
  sleep 0.1
done
# The socket exists before containerd's CRI service has initialised: a kubelet started then exits
# at once ("server is not initialized yet"), longer on a busy machine. One that exits within 10 s
# is started again (30 tries); one that ran longer exits the node with its status.
for _ in $(seq 1 30); do
  started=$(date +%s)
  "$bin/kubelet" --config="$state/kubelet-config.yaml" --kubeconfig="$state/kubelet.kubeconfig" \
    --hostname-override="$(hostname)" --v=1 &
  kubelet=$!
  status=0
  wait "$kubelet" || status=$?
  [ $(($(date +%s) - started)) -ge 10 ] && exit "$status"
  echo "node.sh: the kubelet exited after $(($(date +%s) - started)) s (status $status): starting it again" >&2
  sleep 1
done
exit "$status"
