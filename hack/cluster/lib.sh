# hack/cluster/lib.sh - shared settings and helpers of the local cluster scripts.
# Sourced, not run. Versions, paths and the little helpers every step uses.

# --- versions (each one is a cache key under $CLUSTER_CACHE) ------------------
K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-2.1.0}"
COREDNS_VERSION="${COREDNS_VERSION:-1.15.0}"
# Our own pause binary; bump when hack/cluster/pause/main.go changes.
PAUSE_VERSION="${PAUSE_VERSION:-3.10-slotbook.1}"
# Our test client (hack/cluster/_src/probe); bump when it changes.
PROBE_VERSION="${PROBE_VERSION:-1}"
# Our volume provisioner (hack/cluster/local-volumes); bump when it changes.
LOCAL_VOLUMES_VERSION="${LOCAL_VOLUMES_VERSION:-1}"

# --- paths ----------------------------------------------------------------
CLUSTER_HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$CLUSTER_HACK/../.." && pwd -P)"
CLUSTER_CACHE="${CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slotbook/cluster}"
CLUSTER_DIR="${CLUSTER_DIR:-$REPO_ROOT/bin/cluster}"   # all state of a running cluster
RUN_DIR="$CLUSTER_DIR/run"                               # pid files
LOG_DIR="$CLUSTER_DIR/logs"                              # one <daemon>.log per daemon
PKI_DIR="$CLUSTER_DIR/pki"
KUBECONFIG_ADMIN="$CLUSTER_DIR/kubeconfig"

KUBE_DIR="$CLUSTER_CACHE/kubernetes-$K8S_VERSION"
ETCD_DIR="$CLUSTER_CACHE/etcd-$ETCD_VERSION"
KUBE_ROUTER_DIR="$CLUSTER_CACHE/kube-router-$KUBE_ROUTER_VERSION"
COREDNS_DIR="$CLUSTER_CACHE/coredns-$COREDNS_VERSION"
PAUSE_DIR="$CLUSTER_CACHE/pause-$PAUSE_VERSION"
PROBE_DIR="$CLUSTER_CACHE/probe-$PROBE_VERSION"
LOCAL_VOLUMES_DIR="$CLUSTER_CACHE/local-volumes-$LOCAL_VOLUMES_VERSION"
VOLUMES_ROOT="$CLUSTER_DIR/volumes"                     # directories of PersistentVolumes

# --- network layout ---------------------------------------------------------
# The node IP lives alone on a bridge of its own (kubelet refuses loopback and
# this kernel has no dummy module); pods get their own bridge and range.
NODE_BRIDGE="${NODE_BRIDGE:-slotbook-node}"
NODE_IP="${NODE_IP:-10.250.0.1}"
POD_BRIDGE="${POD_BRIDGE:-slotbook-cni0}"
CLUSTER_CIDR="${CLUSTER_CIDR:-10.244.0.0/16}"   # pods of all nodes (one node here)
POD_CIDR="${POD_CIDR:-10.244.0.0/24}"           # this node's share, what controller-manager assigns first
SERVICE_CIDR="${SERVICE_CIDR:-10.96.0.0/16}"
KUBERNETES_SVC_IP="${KUBERNETES_SVC_IP:-10.96.0.1}"
DNS_SVC_IP="${DNS_SVC_IP:-10.96.0.10}"
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
NODE_NAME="${NODE_NAME:-slotbook-node}"
APISERVER_PORT="${APISERVER_PORT:-6443}"
ETCD_CLIENT_PORT="${ETCD_CLIENT_PORT:-23790}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-23800}"

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# step NAME: announce a named step; on failure the ERR trap names it.
CURRENT_STEP=""
step() { CURRENT_STEP="$1"; log "== $1"; }

BUILD_CACHE="$CLUSTER_CACHE"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/gobuild.sh"
