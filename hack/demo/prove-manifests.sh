#!/usr/bin/env bash
# hack/demo/prove-manifests.sh - the rendered install manifests of hack/demo
# apply, in `make demo`'s order, to a throwaway kube-apiserver 1.37.2 (envtest
# binaries, loopback; no nodes, so no pod runs): cert-manager.yaml,
# cnpg-operator.yaml, plugin-barman-cloud.yaml, versitygw.yaml, traefik.yaml
# (server-side apply), every CRD
# becomes Established, and our cert-manager controller (run as a process)
# issues the Barman Cloud plugin's mTLS certificates (Secrets
# barman-cloud-server-tls and barman-cloud-client-tls in cnpg-system).
#
# Usage: hack/demo/prove-manifests.sh   (after build.sh cnpg barman-cloud-plugin cert-manager)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_go
cm="$DEMO_CACHE/cert-manager-$CERT_MANAGER_VERSION"
manifests=(
  "$cm/cert-manager.yaml"
  "$DEMO_CACHE/cnpg-$CNPG_VERSION/cnpg-operator.yaml"
  "$DEMO_CACHE/barman-cloud-plugin-$BARMAN_PLUGIN_VERSION/plugin-barman-cloud.yaml"
  "$DEMO_CACHE/versitygw-$VERSITYGW_VERSION/versitygw.yaml"
  "$DEMO_CACHE/traefik-$TRAEFIK_VERSION/traefik.yaml"
)
for f in "${manifests[@]}"; do [[ -f $f ]] || die "missing $f: run hack/demo/build.sh first"; done

t="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-prove-manifests.XXXXXX")"
pids=()
trap 'kill_pids_and_remove "$t"' EXIT
start_apiserver "$t"

for f in "${manifests[@]}"; do
  n="$(k apply --server-side --force-conflicts -f "$f" | wc -l)"
  log "applied $(basename "$f"): $n objects"
  # CRDs first become Established; later manifests use them (cert-manager's for the plugin).
  k wait --for condition=Established --timeout 60s crd --all >/dev/null
done
log "CRDs established: $(k get crd -o name | wc -l) ($(k get crd -o name | sed 's|.*/||; s|^[^.]*\.||' | sort -u | tr '\n' ' '))"
"$cm/controller" --kubeconfig "$t/kubeconfig" --leader-elect=false --cluster-resource-namespace cert-manager \
  --metrics-listen-address 127.0.0.1:0 --health-listen-address 127.0.0.1:0 >"$t/controller.log" 2>&1 &
pids+=($!)
k -n cnpg-system wait --for condition=Ready --timeout 120s certificate/barman-cloud-server certificate/barman-cloud-client >/dev/null ||
  { tail -20 "$t/controller.log" >&2; die "the plugin's certificates were not issued"; }
k -n cnpg-system get secret barman-cloud-server-tls barman-cloud-client-tls >&2
k -n cnpg-system get deploy,svc,certificates,issuers >&2
log "PASS: cert-manager, CNPG, Barman Cloud plugin, versitygw and Traefik manifests apply; the plugin's mTLS certificates are issued"
