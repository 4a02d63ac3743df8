#!/usr/bin/env bash
# hack/demo/prove-cert-manager.sh - prove our cert-manager controller issues
# certificates, without a cluster: a throwaway etcd + kube-apiserver (the
# envtest binaries hack/envtest-binaries.sh caches) on loopback, the CRDs of
# the rendered manifest, then the demo's chain: a selfSigned ClusterIssuer
# signs a CA Certificate (isCA) in cert-manager, a CA ClusterIssuer uses its
# Secret, and a leaf Certificate in namespace demo must become Ready with a
# tls.crt that verifies against the CA. The controller runs as a process
# (--kubeconfig), not a pod. Everything lives in a temp dir and is stopped at exit.
#
# Usage: hack/demo/prove-cert-manager.sh   (after hack/demo/build.sh cert-manager)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_go
dir="$DEMO_CACHE/cert-manager-$CERT_MANAGER_VERSION"
[[ -x $dir/controller ]] || die "build first: hack/demo/build.sh cert-manager"
bin="$(ENVTEST_SKIP_KUBECTL= "$REPO_ROOT/hack/envtest-binaries.sh")"
[[ -x $bin/kube-apiserver && -x $bin/etcd && -x $bin/kubectl ]] || die "envtest binaries incomplete in $bin"

t="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-prove-cm.XXXXXX")"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$t"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
etcd_port="$(port)" peer_port="$(port)" api_port="$(port)"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$t/api.key" -out "$t/api.crt" 2>/dev/null
openssl genrsa -out "$t/sa.key" 2048 2>/dev/null
token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "$token,admin,admin,system:masters" >"$t/tokens.csv"

"$bin/etcd" --data-dir "$t/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" --initial-cluster "default=http://127.0.0.1:$peer_port" \
  >"$t/etcd.log" 2>&1 &
pids+=($!)
"$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$t/api.crt" --tls-private-key-file "$t/api.key" --token-auth-file "$t/tokens.csv" \
  --authorization-mode RBAC --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$t/sa.key" --service-account-signing-key-file "$t/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 --disable-admission-plugins ServiceAccount \
  >"$t/apiserver.log" 2>&1 &
pids+=($!)
cat >"$t/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$t/api.crt"}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: t, context: {cluster: t, user: admin}}]
current-context: t
KC
k() { "$bin/kubectl" --kubeconfig "$t/kubeconfig" "$@"; }
for _ in $(seq 120); do k get --raw /readyz >/dev/null 2>&1 && break; sleep 0.5; done
k get --raw /readyz >/dev/null || die "kube-apiserver not ready; $(tail -5 "$t/apiserver.log")"
log "kube-apiserver ready on 127.0.0.1:$api_port"

# The whole manifest: proves it applies (Deployment stays unscheduled: no nodes).
k apply --server-side -f "$dir/cert-manager.yaml" >/dev/null
k wait --for condition=Established --timeout 60s crd/certificates.cert-manager.io crd/clusterissuers.cert-manager.io >/dev/null
k create namespace demo >/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: selfsigned}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: slotbook-demo-ca, namespace: cert-manager}
spec:
  isCA: true
  commonName: Slotbook demo CA
  secretName: slotbook-demo-ca
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {name: selfsigned, kind: ClusterIssuer, group: cert-manager.io}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: slotbook-demo-ca}
spec: {ca: {secretName: slotbook-demo-ca}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: booking, namespace: demo}
spec:
  secretName: booking-tls
  dnsNames: [demo.slotbook.localhost]
  issuerRef: {name: slotbook-demo-ca, kind: ClusterIssuer, group: cert-manager.io}
YAML

start=$SECONDS
"$dir/controller" --kubeconfig "$t/kubeconfig" --leader-elect=false --cluster-resource-namespace cert-manager \
  --metrics-listen-address 127.0.0.1:0 --health-listen-address 127.0.0.1:0 >"$t/controller.log" 2>&1 &
pids+=($!)
if ! k -n demo wait --for condition=Ready --timeout 120s certificate/booking >/dev/null 2>&1; then
  k get clusterissuers,certificates,certificaterequests -A -o wide >&2 || true
  tail -30 "$t/controller.log" >&2
  die "Certificate demo/booking did not become Ready"
fi
log "Certificate demo/booking Ready $((SECONDS - start))s after the controller started"
k get clusterissuers,certificates -A >&2
k -n cert-manager get secret slotbook-demo-ca -o jsonpath='{.data.tls\.crt}' | base64 -d >"$t/ca.crt"
k -n demo get secret booking-tls -o jsonpath='{.data.tls\.crt}' | base64 -d >"$t/leaf.crt"
openssl verify -CAfile "$t/ca.crt" "$t/leaf.crt" >&2
openssl x509 -in "$t/leaf.crt" -noout -subject -issuer -ext subjectAltName >&2
log "PASS: self-signed -> CA ClusterIssuer -> Certificate issued by our cert-manager controller"
