#!/usr/bin/env bash
# hack/cluster/smoke.sh - smoke test of the running local cluster, as a user
# would see it: under the restricted Pod Security level, pods run, DNS
# resolves service names, kubectl logs and exec work, a default-deny
# NetworkPolicy blocks and an allow policy lets the named client through
# (kube-router enforcing), and, if `make images` has made bin/images/slotbook.tar,
# the app image runs `slotbook version`. Last line: "N passed, N failed".
#
# Usage: hack/cluster/smoke.sh   (after make cluster-up)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
K=("$KUBE_DIR/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
NS=slotbook-smoke
passed=0 failed=0

check() { # check NAME CMD...: run one case, count it
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1)); log "PASS $name"
  else
    failed=$((failed + 1)); log "FAIL $name: $(tail -n 5 <<<"$out")"
  fi
}
# eventually SECONDS CMD...: CMD succeeds within SECONDS (policies take a
# moment to reach kube-router's iptables rules).
eventually() {
  local secs="$1" i
  shift
  for ((i = 0; i < secs; i++)); do "$@" && return 0; sleep 1; done
  "$@"
}
connect() { "${K[@]}" -n $NS exec "$1" -- /probe tcp server:8080; }
# blocked POD: the probe in POD runs but cannot connect (not just any failure,
# e.g. a missing pod, which must not count as "blocked").
blocked() {
  local out
  out="$("${K[@]}" -n $NS exec "$1" -- /probe tcp server:8080 2>&1)" && return 1
  grep -q 'probe: tcp server:8080' <<<"$out"
}

"${K[@]}" get --raw /readyz >/dev/null 2>&1 || die "no running cluster (make cluster-up)"
"${K[@]}" delete namespace $NS --ignore-not-found --wait=true >/dev/null

pod() { # pod NAME LABEL ARGS...: a restricted pod running the probe image
  local name="$1" label="$2"
  shift 2
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: $NS, labels: {app: $label}}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: probe
    image: slotbook.local/probe:$PROBE_VERSION
    imagePullPolicy: Never
    args: [$(printf '"%s",' "$@" | sed 's/,$//')]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}
YAML
}

setup() {
  "${K[@]}" apply -f - <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: $NS}
spec:
  selector: {app: server}
  ports: [{port: 8080, targetPort: 8080}]
$(pod server server serve :8080)
$(pod client client sleep)
$(pod other other sleep)
YAML
}
# A new namespace's default ServiceAccount may lag behind (pitfall 5): retry.
check "namespace, service and pods created (restricted)" eventually 20 setup
check "pods running" "${K[@]}" -n $NS wait pod --all --for=condition=Ready --timeout 90s
privileged_rejected() {
  local out
  out="$("${K[@]}" -n $NS run privileged --image "slotbook.local/probe:$PROBE_VERSION" --image-pull-policy Never \
    --overrides '{"spec":{"containers":[{"name":"privileged","image":"slotbook.local/probe:'"$PROBE_VERSION"'","securityContext":{"privileged":true}}]}}' 2>&1)" && return 1
  grep -q 'violates PodSecurity "restricted' <<<"$out"
}
check "restricted Pod Security rejects a privileged pod" privileged_rejected
check "DNS: service name resolves in a pod" "${K[@]}" -n $NS exec client -- /probe dns server.$NS.svc.$CLUSTER_DOMAIN
check "DNS: kubernetes.default resolves" "${K[@]}" -n $NS exec client -- /probe dns kubernetes.default
check "kubectl exec: client reaches the server through its Service" eventually 10 connect client
check "kubectl logs" eval '"${K[@]}" -n $NS logs server | grep -q "serving on"'

"${K[@]}" apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: $NS}
spec:
  podSelector: {}
  policyTypes: [Ingress]
YAML
check "default-deny NetworkPolicy blocks the client" eventually 20 blocked client
"${K[@]}" apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: $NS}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080, protocol: TCP}]
YAML
check "allow policy lets the client through" eventually 20 connect client
check "allow policy still blocks another pod" blocked other

app_tar="$REPO_ROOT/bin/images/slotbook.tar"
if [[ -f $app_tar ]]; then
  app_image="$(tar -xOf "$app_tar" index.json | grep -o '"io.containerd.image.name":"[^"]*"' | head -n1 | cut -d'"' -f4)"
  app_smoke() {
    "$CLUSTER_HACK/import-image.sh" "$app_tar" || return 1
    "${K[@]}" apply -f - <<YAML || return 1
apiVersion: v1
kind: Pod
metadata: {name: app-version, namespace: $NS}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: $app_image
    imagePullPolicy: Never
    args: [version]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}
YAML
    "${K[@]}" -n $NS wait pod/app-version --for=jsonpath='{.status.phase}'=Succeeded --timeout 60s || return 1
    "${K[@]}" -n $NS logs app-version
  }
  check "app image $app_image runs 'slotbook version' (restricted)" app_smoke
else
  log "skip: app image smoke ($app_tar missing; make images)"
fi

if [[ $failed -eq 0 ]]; then
  "${K[@]}" delete namespace $NS --wait=false >/dev/null
else
  log "left namespace $NS for inspection; logs in $LOG_DIR"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
