#!/usr/bin/env bash
# hack/cluster/up.sh - start a real single-node Kubernetes on this machine and
# wait until it is really ready: node Ready, the default ServiceAccount in
# default, and a pod's DNS lookup of kubernetes.default.svc answered.
#
# Pieces: etcd, kube-apiserver/controller-manager/scheduler (started as a
# unit), containerd + runc with our pause image, a CNI bridge, kubelet,
# kube-proxy (iptables), kube-router (NetworkPolicy firewall only) and CoreDNS
# (a pod). Every daemon logs to bin/cluster/logs/<daemon>.log, its pid is in
# bin/cluster/run/<daemon>.pid; `hack/cluster/down.sh` stops it all.
#
# Idempotent: a healthy running cluster is left as it is; a half-started or
# stale one is stopped and cleaned first. Stdout gets one line,
# KUBECONFIG=<path>; progress goes to stderr.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec 3>&1 1>&2

on_exit() {
  local rc=$?
  [[ $rc == 0 || -z $CURRENT_STEP ]] && return
  log "FAILED in step \"$CURRENT_STEP\"; daemon logs: $LOG_DIR/<daemon>.log"
  log "the next make cluster-up cleans up; or run make cluster-down"
}
trap on_exit EXIT
T0=$SECONDS
KUBE="$KUBE_DIR"
KUBECTL=("$KUBE/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
CONTAINERD_SOCK="$RUN_DIR/containerd.sock"
DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router local-volumes)

# running NAME: the daemon of run/NAME.pid is alive (an exited, unreaped
# process, state Z, is not).
running() {
  local f="$RUN_DIR/$1.pid" pid
  [[ -f $f ]] || return 1
  pid="$(<"$f")"
  kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# start NAME CMD...: run a daemon in its own session, detached from our
# stdio, logging to logs/NAME.log, pid in run/NAME.pid.
start() {
  local name="$1"
  shift
  log "starting $name"
  # 3>&-: our stdout (fd 3) must not stay open in the daemon, or a caller
  # reading it (make | tail, $(...)) would wait until cluster-down.
  setsid "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 3>&- &
  echo $! >"$RUN_DIR/$name.pid"
}

# wait_for WHAT SECONDS CMD...: retry CMD every half second.
wait_for() {
  local what="$1" secs="$2" i
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "timed out after ${secs}s waiting for $what"
}

# alive NAME...: fail when a daemon we started has died (names its log).
alive() {
  local d
  for d in "$@"; do running "$d" || die "$d exited; see $LOG_DIR/$d.log:$(echo; tail -n 15 "$LOG_DIR/$d.log" 2>/dev/null)"; done
}

api_ready() { "${KUBECTL[@]}" get --raw /readyz >/dev/null 2>&1; }

step "prerequisites"
[[ $(id -u) == 0 ]] || die "the local cluster needs root (containerd, bridges, iptables)"
"$CLUSTER_HACK/deps.sh"
"$CLUSTER_HACK/build.sh" all

step "check for a running cluster"
all_running=1
for d in "${DAEMONS[@]}"; do running "$d" || all_running=0; done
if [[ $all_running == 1 ]] && api_ready &&
  "${KUBECTL[@]}" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True; then
  log "the cluster is already running and ready"
  echo "KUBECONFIG=$KUBECONFIG_ADMIN" >&3
  exit 0
fi
if [[ -d $RUN_DIR ]] || ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link show "$POD_BRIDGE" >/dev/null 2>&1; then
  log "found a stopped or half-started cluster: cleaning it up first"
  "$CLUSTER_HACK/down.sh"
fi

step "certificates and kubeconfigs"
"$CLUSTER_HACK/pki.sh"
mkdir -p "$RUN_DIR" "$CLUSTER_DIR/etcd" "$CLUSTER_DIR/kubelet" "$CLUSTER_DIR/cni/net.d" "$CLUSTER_DIR/containerd"
chmod 700 "$CLUSTER_DIR/etcd"
if [[ -d $LOG_DIR ]]; then rm -rf "$LOG_DIR.prev"; mv "$LOG_DIR" "$LOG_DIR.prev"; fi
mkdir -p "$LOG_DIR"
P="$PKI_DIR"

step "host network: node bridge, sysctls"
# The node IP on an otherwise empty bridge: kubelet refuses a loopback node IP
# and this kernel has no dummy module.
ls /run/netns 2>/dev/null >"$RUN_DIR/netns.before" || true
: >"$RUN_DIR/sysctl.saved"
for k in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory kernel.panic kernel.panic_on_oops vm.panic_on_oom; do
  v="$(sysctl -n "$k" 2>/dev/null)" && echo "$k=$v" >>"$RUN_DIR/sysctl.saved"
done
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "warning: no br_netfilter: NetworkPolicies between pods will not be enforced"
ip link add "$NODE_BRIDGE" type bridge
ip addr add "$NODE_IP/32" dev "$NODE_BRIDGE"
ip link set "$NODE_BRIDGE" up

step "etcd"
start etcd "$ETCD_DIR/etcd" --name slotbook --data-dir "$CLUSTER_DIR/etcd" \
  --listen-client-urls "https://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "https://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "slotbook=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
  --cert-file "$P/etcd-server.crt" --key-file "$P/etcd-server.key" --trusted-ca-file "$P/etcd-ca.crt" --client-cert-auth
wait_for "etcd health" 30 curl -sf --cacert "$P/etcd-ca.crt" --cert "$P/apiserver-etcd-client.crt" --key "$P/apiserver-etcd-client.key" \
  "https://127.0.0.1:$ETCD_CLIENT_PORT/health"

step "control plane (apiserver, controller-manager, scheduler: a unit)"
start kube-apiserver "$KUBE/kube-apiserver" \
  --advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
  --etcd-servers "https://127.0.0.1:$ETCD_CLIENT_PORT" --etcd-cafile "$P/etcd-ca.crt" \
  --etcd-certfile "$P/apiserver-etcd-client.crt" --etcd-keyfile "$P/apiserver-etcd-client.key" \
  --client-ca-file "$P/ca.crt" --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" \
  --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$P/ca.crt" --kubelet-preferred-address-types InternalIP,Hostname \
  --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
  --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
  --enable-admission-plugins NodeRestriction --allow-privileged=true \
  --requestheader-client-ca-file "$P/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$P/front-proxy-client.crt" --proxy-client-key-file "$P/front-proxy-client.key" \
  --profiling=false --event-ttl 1h
# controller-manager and scheduler only after /readyz: before the RBAC
# bootstrap roles exist they cannot read their configmap and exit.
for ((i = 0; i < 120; i++)); do api_ready && break; alive etcd kube-apiserver; sleep 0.5; done
api_ready || die "kube-apiserver not ready after 60s"
log "kube-apiserver ready after $((SECONDS - T0))s"
start kube-controller-manager "$KUBE/kube-controller-manager" \
  --kubeconfig "$P/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$P/controller-manager.kubeconfig" --authorization-kubeconfig "$P/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
  --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
  --root-ca-file "$P/ca.crt" --service-account-private-key-file "$P/sa.key" \
  --allocate-node-cidrs --cluster-cidr "$CLUSTER_CIDR" --node-cidr-mask-size 24 \
  --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false
start kube-scheduler "$KUBE/kube-scheduler" \
  --kubeconfig "$P/scheduler.kubeconfig" \
  --authentication-kubeconfig "$P/scheduler.kubeconfig" --authorization-kubeconfig "$P/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false
sleep 1
alive kube-controller-manager kube-scheduler

step "CNI bridge config"
# No ipMasq and no portmap: the pods need no NAT (nothing outside is reachable
# anyway) and so the CNI plugins make no iptables chains of their own.
cat >"$CLUSTER_DIR/cni/net.d/10-slotbook.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "slotbook",
  "plugins": [{
    "type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
             "dataDir": "$CLUSTER_DIR/cni/ipam"}
  }]
}
JSON

step "containerd"
# restrict_oom_score_adj: the VM lacks CAP_SYS_RESOURCE, so runc must not try
# to lower oom_score_adj (every sandbox failed otherwise). Everything of ours
# lives under bin/cluster: socket, root (images stay across cluster-down),
# state, runc state, CNI config.
cat >"$CLUSTER_DIR/containerd/config.toml" <<TOML
version = 2
root = "$CLUSTER_DIR/containerd/root"
state = "$CLUSTER_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CLUSTER_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "slotbook.local/pause:$PAUSE_VERSION"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$CLUSTER_DIR/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
TOML
start containerd containerd --config "$CLUSTER_DIR/containerd/config.toml"
for ((i = 0; i < 60; i++)); do ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 && break; alive containerd; sleep 0.5; done
"$CLUSTER_HACK/import-image.sh" "$PAUSE_DIR/pause.oci.tar" "$PROBE_DIR/probe.oci.tar" "$COREDNS_DIR/coredns.oci.tar"

step "kubelet"
cat >"$CLUSTER_DIR/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet-server.crt
tlsPrivateKeyFile: $P/kubelet-server.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_SVC_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
podLogsDirectory: $CLUSTER_DIR/pod-logs
serializeImagePulls: false
# Imported images cannot be pulled again: never garbage-collect them, and
# evict only when the disk is really full.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
YAML
start kubelet "$KUBE/kubelet" --config "$CLUSTER_DIR/kubelet/config.yaml" \
  --kubeconfig "$P/kubelet.kubeconfig" --root-dir "$CLUSTER_DIR/kubelet" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
node_ready() { "${KUBECTL[@]}" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }
for ((i = 0; i < 120; i++)); do node_ready 2>/dev/null && break; alive kubelet containerd; sleep 0.5; done
node_ready || die "node $NODE_NAME not Ready after 60s"
log "node Ready after $((SECONDS - T0))s"

step "kube-proxy (iptables)"
# No conntrack sysctl tuning and no localhost NodePorts (which would set
# route_localnet): kube-proxy changes no machine-wide setting. NodePorts only
# on the node IP, never on the machine's real interfaces.
cat >"$CLUSTER_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $P/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $CLUSTER_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
iptables: {localhostNodePorts: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start kube-proxy "$KUBE/kube-proxy" --config "$CLUSTER_DIR/kube-proxy.yaml"

step "kube-router (NetworkPolicy firewall)"
"${KUBECTL[@]}" apply --server-side -f "$CLUSTER_HACK/manifests/kube-router-rbac.yaml" >/dev/null
start kube-router "$KUBE_ROUTER_DIR/kube-router" --kubeconfig "$P/kube-router.kubeconfig" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --hostname-override "$NODE_NAME" --metrics-port 0 --health-port 0

step "local-volumes (StorageClass slotbook-local)"
"${KUBECTL[@]}" apply --server-side -f "$CLUSTER_HACK/manifests/local-volumes.yaml" >/dev/null
start local-volumes "$LOCAL_VOLUMES_DIR/local-volumes" --kubeconfig "$P/local-volumes.kubeconfig" \
  --root "$VOLUMES_ROOT" --node "$NODE_NAME"

step "CoreDNS"
sed -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|g" -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" \
  -e "s|@COREDNS_IMAGE@|slotbook.local/coredns:$COREDNS_VERSION|g" "$CLUSTER_HACK/manifests/coredns.yaml" |
  "${KUBECTL[@]}" apply --server-side -f - >/dev/null
coredns_ready() { [[ $("${KUBECTL[@]}" -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null) == 1 ]]; }
for ((i = 0; i < 90; i++)); do
  coredns_ready && break
  alive kube-controller-manager kube-scheduler kubelet kube-proxy kube-router local-volumes
  sleep 1
done
coredns_ready || die "CoreDNS not ready after 90s: $("${KUBECTL[@]}" -n kube-system get pods -l k8s-app=kube-dns --no-headers 2>&1)"

step "ready: default ServiceAccount, DNS from a pod"
wait_for "ServiceAccount default/default" 60 "${KUBECTL[@]}" -n default get serviceaccount default
wait_for "ServiceAccount kube-system/default" 60 "${KUBECTL[@]}" -n kube-system get serviceaccount default
"${KUBECTL[@]}" -n kube-system delete pod slotbook-dns-check --ignore-not-found --wait=false >/dev/null
dns_ok=0
for ((i = 0; i < 3 && dns_ok == 0; i++)); do
  "${KUBECTL[@]}" -n kube-system delete pod slotbook-dns-check --ignore-not-found >/dev/null
  "${KUBECTL[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: slotbook-dns-check, namespace: kube-system}
spec:
  restartPolicy: OnFailure
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: probe
    image: slotbook.local/probe:$PROBE_VERSION
    imagePullPolicy: Never
    args: [dns, kubernetes.default.svc.$CLUSTER_DOMAIN]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}
YAML
  if "${KUBECTL[@]}" -n kube-system wait pod/slotbook-dns-check --for=jsonpath='{.status.phase}'=Succeeded --timeout 60s >/dev/null 2>&1; then
    dns_ok=1
  fi
done
answer="$("${KUBECTL[@]}" -n kube-system logs slotbook-dns-check 2>&1 | tail -n 1)"
"${KUBECTL[@]}" -n kube-system delete pod slotbook-dns-check --wait=false >/dev/null 2>&1 || true
[[ $dns_ok == 1 ]] || die "no DNS answer from a pod: $answer"
grep -qw "$KUBERNETES_SVC_IP" <<<"$answer" || die "DNS answered $answer, expected $KUBERNETES_SVC_IP"
log "DNS from a pod: $answer"

CURRENT_STEP=""
log "cluster ready in $((SECONDS - T0))s; kubectl: $KUBE/kubectl --kubeconfig $KUBECONFIG_ADMIN"
echo "KUBECONFIG=$KUBECONFIG_ADMIN" >&3
