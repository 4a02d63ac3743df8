#!/usr/bin/env bash
# hack/cluster/pki.sh - certificates, keys and kubeconfigs of the local cluster,
# made with openssl (ECDSA P-256: fast to generate on a busy machine) under bin/cluster/pki (kept across cluster-down, so the CA
# a developer trusted stays valid; `hack/cluster/down.sh --wipe` removes it).
# Only what is missing is made: a second run changes nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$PKI_DIR"
umask 077
cd "$PKI_DIR"
DAYS=3650

# ca NAME CN: a self-signed CA.
ca() {
  [[ -s $1.crt ]] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.crt" -days "$DAYS" \
    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# cert NAME CA SUBJECT USAGE [SAN]: a leaf signed by CA; USAGE is
# clientAuth, serverAuth or both; SAN like "DNS:x,IP:1.2.3.4".
cert() {
  local name="$1" ca="$2" subj="$3" usage="$4" san="${5:-}" ext
  [[ -s $name.crt ]] && return 0
  ext="$(mktemp)"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -z $san ]] || echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -out "$name.crt" -days "$DAYS" -extfile "$ext" 2>/dev/null
  rm -f "$name.csr" "$ext"
}

# kubeconfig FILE USER CERT: a kubeconfig for the API server with a client cert.
kubeconfig() {
  local file="$1" user="$2" crt="$3"
  [[ -s $file ]] && return 0
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: slotbook
  cluster:
    server: https://$NODE_IP:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 ca.crt)
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$crt.crt")
    client-key-data: $(base64 -w0 "$crt.key")
contexts:
- name: slotbook
  context: {cluster: slotbook, user: $user}
current-context: slotbook
KC
}

step "certificates"
ca ca slotbook-cluster-ca
ca front-proxy-ca slotbook-front-proxy-ca
ca etcd-ca slotbook-etcd-ca

svc_names="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
cert apiserver ca "/CN=kube-apiserver" serverAuth \
  "$svc_names,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SVC_IP"
cert apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
cert etcd-server etcd-ca "/CN=etcd" serverAuth,clientAuth "DNS:localhost,IP:127.0.0.1"
cert apiserver-etcd-client etcd-ca "/CN=kube-apiserver-etcd-client" clientAuth
cert admin ca "/O=system:masters/CN=kubernetes-admin" clientAuth
cert controller-manager ca "/CN=system:kube-controller-manager" clientAuth
cert scheduler ca "/CN=system:kube-scheduler" clientAuth
cert kubelet-client ca "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
cert kubelet-server ca "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
cert kube-proxy ca "/CN=system:kube-proxy" clientAuth
cert kube-router ca "/CN=system:kube-router" clientAuth
cert local-volumes ca "/CN=system:slotbook-local-volumes" clientAuth
# Service-account token signing key pair.
[[ -s sa.key ]] || { openssl ecparam -name prime256v1 -genkey -noout -out sa.key && openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null; }

step "kubeconfigs"
kubeconfig "$CLUSTER_DIR/kubeconfig" kubernetes-admin admin
kubeconfig controller-manager.kubeconfig system:kube-controller-manager controller-manager
kubeconfig scheduler.kubeconfig system:kube-scheduler scheduler
kubeconfig kubelet.kubeconfig "system:node:$NODE_NAME" kubelet-client
kubeconfig kube-proxy.kubeconfig system:kube-proxy kube-proxy
kubeconfig kube-router.kubeconfig system:kube-router kube-router
kubeconfig local-volumes.kubeconfig system:slotbook-local-volumes local-volumes
