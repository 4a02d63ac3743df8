#!/usr/bin/env bash
# hack/e2e/caches.sh - exit 0 when every build the local cluster, make demo and make test-e2e
# need is cached (a run then takes ~9 minutes); otherwise name what is missing and exit 1
# (building it all takes about an hour on 2 cores). .ci/run uses it to decide whether the
# end-to-end suite fits into a CI run.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../demo/lib.sh"
missing=()
for d in "$KUBE_DIR" "$ETCD_DIR" "$KUBE_ROUTER_DIR" "$COREDNS_DIR" "$PAUSE_DIR" "$PROBE_DIR" "$LOCAL_VOLUMES_DIR" \
  "$DEMO_CACHE/cnpg-$CNPG_VERSION" "$DEMO_CACHE/postgresql-$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV" \
  "$DEMO_CACHE/barman-cloud-plugin-$BARMAN_PLUGIN_VERSION" "$DEMO_CACHE/cert-manager-$CERT_MANAGER_VERSION" \
  "$DEMO_CACHE/versitygw-$VERSITYGW_VERSION" "$DEMO_CACHE/traefik-$TRAEFIK_VERSION"; do
  [[ -d $d ]] || missing+=("$d")
done
if ((${#missing[@]})); then
  printf 'not cached: %s\n' "${missing[@]}"
  exit 1
fi
[[ $(id -u) == 0 ]] || { echo "not root: the local cluster needs root"; exit 1; }
exit 0
