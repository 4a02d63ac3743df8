#!/usr/bin/env bash
# hack/cluster/down.sh - stop the local cluster and remove what cluster-up made:
# its daemons (pid files in bin/cluster/run), the pods' processes and cgroups,
# its mounts under bin/cluster and its pod network namespaces, its two bridges,
# its iptables chains (KUBE-*, made by kubelet, kube-proxy and kube-router:
# only those chains and the jumps to them, never a whole table) and ipsets,
# and the sysctls it changed (restored to their saved values). The runtime
# state (etcd data, kubelet and CNI state) goes too; certificates, kubeconfigs
# and containerd's image store stay for a fast next start; build caches are
# never touched.
#
# Usage: hack/cluster/down.sh [--wipe]   --wipe also removes all of bin/cluster
# Safe to run at any time, also on a half-started or already stopped cluster.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

wipe=0
[[ ${1:-} == --wipe ]] && wipe=1
CONTAINERD_SOCK="$RUN_DIR/containerd.sock"

# ours NAME: print the pid of run/NAME.pid if that process is still the
# daemon (its command line names NAME), so a reused pid is never signalled.
ours() {
  local f="$RUN_DIR/$1.pid" pid
  [[ -f $f ]] || return 0
  pid="$(<"$f")"
  [[ -n $pid ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$1" && echo "$pid"
  return 0
}

# stop NAME...: TERM the daemons together, wait up to 10 s for all of them
# (the apiserver's graceful shutdown alone takes ~15 s otherwise), then KILL.
stop() {
  local name pid pids=() i
  for name in "$@"; do
    pid="$(ours "$name")"
    rm -f "$RUN_DIR/$name.pid"
    [[ -n $pid ]] || continue
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  for ((i = 0; i < 100; i++)); do
    local any=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && any=1; done
    [[ $any == 1 ]] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "  pid $pid did not stop in 10 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

step "stop node and control plane daemons"
# The node first (nothing restarts pods then), then the control plane, etcd last.
stop local-volumes kube-router kube-proxy kubelet
stop kube-scheduler kube-controller-manager kube-apiserver
stop etcd

step "stop pods"
if [[ -S $CONTAINERD_SOCK ]] && ctr_ version >/dev/null 2>&1; then
  # Kill every task, then delete tasks and containers (with their rw
  # snapshots); the images stay in containerd's store.
  mapfile -t tasks < <(ctr_ tasks ls -q 2>/dev/null || true)
  for t in "${tasks[@]}"; do ctr_ tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for t in "${tasks[@]}"; do ctr_ tasks rm -f "$t" >/dev/null 2>&1 || true; done
  mapfile -t ctrs < <(ctr_ containers ls -q 2>/dev/null || true)
  for c in "${ctrs[@]}"; do ctr_ containers rm "$c" >/dev/null 2>&1 || true; done
  log "removed ${#tasks[@]} tasks, ${#ctrs[@]} containers"
fi
stop containerd
# Shims and container processes that survived (e.g. containerd was killed
# earlier): shims name our socket; pod processes live in the kubepods cgroups.
for pid in $(pgrep -f -- "-address $CONTAINERD_SOCK" || true); do kill -KILL "$pid" 2>/dev/null || true; done
for procs in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods; do
  [[ -d $procs ]] || continue
  find "$procs" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r pid; do
    kill -KILL "$pid" 2>/dev/null || true
  done
done
sleep 0.5
# kubelet's QoS cgroups (cgroupfs driver): remove the now empty tree.
for c in /sys/fs/cgroup/*/kubepods; do
  [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

step "unmount"
# Everything mounted under bin/cluster (pod volumes, container rootfs, shm),
# deepest first; then the network namespaces that appeared since cluster-up.
mapfile -t mnts < <(awk -v d="$CLUSTER_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "  could not unmount $m"; done
[[ ${#mnts[@]} -eq 0 ]] || log "unmounted ${#mnts[@]} mounts"
if [[ -f $RUN_DIR/netns.before ]]; then
  for ns in /run/netns/cni-*; do
    [[ -e $ns ]] || continue
    grep -qxF "$(basename "$ns")" "$RUN_DIR/netns.before" && continue
    umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null || true
    rm -f "$ns"
  done
fi

step "network"
for br in "$POD_BRIDGE" "$NODE_BRIDGE"; do
  if ip link show "$br" >/dev/null 2>&1; then ip link del "$br" && log "deleted bridge $br"; fi
done
# remove_chains TOOL: drop the jumps into KUBE-* chains from other chains,
# then flush and delete the KUBE-* chains; other rules are left alone.
remove_chains() {
  local tool="$1" table line chains n=0
  command -v "$tool" >/dev/null || return 0
  for table in filter nat mangle raw; do
    chains="$("$tool-save" -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p')" || continue
    [[ -n $chains ]] || continue
    while read -r line; do
      eval "$tool -w -t $table -D ${line#-A }" 2>/dev/null || true
    done < <("$tool-save" -t "$table" | grep -E '^-A ' | grep -Ev '^-A KUBE-' | grep -E -- '-j KUBE-')
    for c in $chains; do "$tool" -w -t "$table" -F "$c" 2>/dev/null || true; done
    for c in $chains; do "$tool" -w -t "$table" -X "$c" 2>/dev/null && n=$((n + 1)) || true; done
  done
  [[ $n -eq 0 ]] || log "$tool: removed $n KUBE-* chains"
}
remove_chains iptables
remove_chains ip6tables
if command -v ipset >/dev/null; then
  for s in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-|kube-router)' || true); do ipset destroy "$s" 2>/dev/null || true; done
fi
# kube-proxy's nfacct packet counters (pkg/proxy/metrics), free once its rules are gone.
if command -v nfacct >/dev/null; then
  for a in ct_state_invalid_dropped_pkts localhost_nps_accepted_pkts; do nfacct delete "$a" >/dev/null 2>&1 || true; done
fi
if [[ -f $RUN_DIR/sysctl.saved ]]; then
  while IFS='=' read -r k v; do sysctl -qw "$k=$v" 2>/dev/null || true; done <"$RUN_DIR/sysctl.saved"
  log "restored sysctls: $(tr '\n' ' ' <"$RUN_DIR/sysctl.saved")"
fi

step "remove state"
# libcni's result cache of our network (containerd 1.6 keeps it in /var/lib/cni).
rm -f /var/lib/cni/results/slotbook-*
if [[ $wipe == 1 ]]; then
  rm -rf "$CLUSTER_DIR"
  log "removed $CLUSTER_DIR"
else
  rm -rf "$CLUSTER_DIR/etcd" "$CLUSTER_DIR/kubelet" "$CLUSTER_DIR/cni" "$CLUSTER_DIR/containerd/state" \
    "$CLUSTER_DIR/containerd/runc" "$CLUSTER_DIR/pod-logs" "$VOLUMES_ROOT" "$RUN_DIR"
fi
log "cluster is down (caches in $CLUSTER_CACHE kept)"
