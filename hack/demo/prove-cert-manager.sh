#!/usr/bin/env bash
# hack/demo/prove-cert-manager.sh - prove our cert-manager controller issues
# certificates, without a cluster: a throwaway etcd + kube-apiserver (the
# envtest binaries hack/envtest-binaries.sh caches) on loopback, the CRDs of
# the rendered manifest, then the demo's chain: a selfSigned ClusterIssuer
# signs a CA Certificate (isCA) in cert-manager, a CA ClusterIssuer uses its
# Secret, and a leaf Certificate in namespace demo must become Ready with a
# tls.crt that verifies against the CA. The controller runs as a process
# (--kubeconfig), not a pod. When Traefik is built too (build.sh traefik), a
# second stage serves that certificate: Traefik's Kubernetes Ingress provider
# (against the same API server, bearer token) reads an Ingress with
# tls.secretName booking-tls whose backend is an ExternalName Service pointing
# at a local HTTP server, and curl must get the page over HTTPS trusting only
# the CA. Everything lives in a temp dir and is stopped at exit; loopback only.
#
# Usage: hack/demo/prove-cert-manager.sh   (after hack/demo/build.sh cert-manager [traefik])
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_go
dir="$DEMO_CACHE/cert-manager-$CERT_MANAGER_VERSION"
[[ -x $dir/controller ]] || die "build first: hack/demo/build.sh cert-manager"
t="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-prove-cm.XXXXXX")"
pids=()
trap 'kill_pids_and_remove "$t"' EXIT
start_apiserver "$t"

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

traefik="$DEMO_CACHE/traefik-$TRAEFIK_VERSION/traefik"
[[ -x $traefik ]] || { log "traefik not built: Ingress stage skipped"; exit 0; }
backend_port="$(port)" https_port="$(port)" http_port="$(port)" ping_port="$(port)"
mkdir -p "$t/www" && echo "hello from the demo backend" >"$t/www/index.html"
python3 -m http.server "$backend_port" --bind 127.0.0.1 --directory "$t/www" >"$t/backend.log" 2>&1 &
pids+=($!)
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: booking, namespace: demo}
spec:
  type: ExternalName
  externalName: localhost
  ports: [{name: http, port: $backend_port}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik}
spec: {controller: traefik.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: booking, namespace: demo}
spec:
  ingressClassName: traefik
  tls: [{hosts: [demo.slotbook.localhost], secretName: booking-tls}]
  rules:
  - host: demo.slotbook.localhost
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: booking, port: {number: $backend_port}}}}
YAML
"$traefik" --log.level=INFO --ping=true --entryPoints.traefik.address="127.0.0.1:$ping_port" \
  --entryPoints.web.address="127.0.0.1:$http_port" --entryPoints.websecure.address="127.0.0.1:$https_port" \
  --entryPoints.websecure.http.tls=true \
  --providers.kubernetesingress=true --providers.kubernetesingress.allowExternalNameServices=true \
  --providers.kubernetesingress.endpoint="https://127.0.0.1:$api_port" \
  --providers.kubernetesingress.token="$token" --providers.kubernetesingress.certAuthFilePath="$t/api.crt" \
  >"$t/traefik.log" 2>&1 &
pids+=($!)
start=$SECONDS body=""
while ((SECONDS - start < 60)); do
  body="$(curl -sS --max-time 2 --cacert "$t/ca.crt" --resolve "demo.slotbook.localhost:$https_port:127.0.0.1" \
    "https://demo.slotbook.localhost:$https_port/" 2>/dev/null)" && [[ $body == *"demo backend"* ]] && break
  sleep 1
done
if [[ $body != *"demo backend"* ]]; then
  curl -skv --resolve "demo.slotbook.localhost:$https_port:127.0.0.1" "https://demo.slotbook.localhost:$https_port/" >&2 || true
  tail -20 "$t/traefik.log" >&2
  die "Traefik did not serve the Ingress with the cert-manager certificate"
fi
log "Traefik $TRAEFIK_VERSION served https://demo.slotbook.localhost (Ingress, TLS from Secret booking-tls, verified against the CA) $((SECONDS - start))s after start: $body"
echo | openssl s_client -connect "127.0.0.1:$https_port" -servername demo.slotbook.localhost 2>/dev/null | openssl x509 -noout -issuer -subject -ext subjectAltName >&2
log "PASS: Traefik Ingress with TLS from the Secret cert-manager wrote"
