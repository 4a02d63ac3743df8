#!/usr/bin/env bash
# hack/e2e/run.sh - `make test-e2e`: the end-to-end suite (test/e2e, build tag e2e) on the local
# cluster. Brings the cluster and the platform up as make demo does, without the demo tenant
# (DEMO_TENANT=0 hack/demo/up.sh: reuses every cache and a running cluster), runs the suite,
# collects logs into bin/e2e/artifacts/ when a case failed, tears the cluster down
# (E2E_KEEP=1 leaves it running) and prints `N passed, N failed` as its last line on stdout.
# A case that did not run (skipped, or the suite died before it) counts as failed.
#
# Env: E2E_RUN (a go test -run pattern), E2E_KEEP=1, E2E_TIMEOUT (go test -timeout, default 75m).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
OUT="$REPO_ROOT/bin/e2e"
ART="$OUT/artifacts"
KUBECTL=("$KUBE_DIR/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
rm -rf "$OUT"
mkdir -p "$ART"
cd "$REPO_ROOT"

mapfile -t cases < <(go test -tags e2e -list '^Test' ./test/e2e 2>/dev/null | grep '^Test' |
  { if [[ -n ${E2E_RUN:-} ]]; then grep -E -- "$E2E_RUN"; else cat; fi; })
[[ ${#cases[@]} -gt 0 ]] || { log "ERROR: no e2e cases found (go test -tags e2e -list ./test/e2e)"; echo "0 passed, 1 failed"; exit 1; }

collect() {
  log "collecting logs into $ART"
  "${KUBECTL[@]}" get tenants,tenantclasses -o yaml >"$ART/tenants.yaml" 2>&1
  "${KUBECTL[@]}" get all,clusters.postgresql.cnpg.io,backups.postgresql.cnpg.io,certificates.cert-manager.io,networkpolicies,pvc,jobs -A -o wide >"$ART/objects.txt" 2>&1
  "${KUBECTL[@]}" get events -A --sort-by=.lastTimestamp >"$ART/events.txt" 2>&1
  cp -r "$LOG_DIR" "$ART/daemon-logs" 2>/dev/null
  cp -r "$CLUSTER_DIR/pod-logs" "$ART/pod-logs" 2>/dev/null
}

teardown() {
  if [[ ${E2E_KEEP:-0} == 1 ]]; then
    log "E2E_KEEP=1: the cluster keeps running (make cluster-down stops it)"
  else
    "$CLUSTER_HACK/down.sh" >"$OUT/cluster-down.log" 2>&1 || log "cluster-down failed; see $OUT/cluster-down.log"
  fi
}

start=$SECONDS
log "platform (cluster, CNPG, cert-manager, versitygw, Traefik, operator); log: $OUT/platform.log"
if ! DEMO_TENANT=0 "$REPO_ROOT/hack/demo/up.sh" >"$OUT/platform.env" 2>"$OUT/platform.log"; then
  tail -n 15 "$OUT/platform.log" >&2
  collect
  teardown
  echo "0 passed, ${#cases[@]} failed"
  exit 1
fi
log "platform ready after $((SECONDS - start))s; running ${#cases[@]} cases (log: $OUT/test.log)"
set -a; source "$OUT/platform.env"; set +a
run_pattern="^($(IFS='|'; echo "${cases[*]}"))\$"
E2E_CONNECT="$CONNECT" E2E_CACERT="$CACERT" E2E_KUBECTL="$KUBE_DIR/kubectl" E2E_KUBECONFIG="$KUBECONFIG_ADMIN" \
  go test -tags e2e ./test/e2e -count=1 -v -timeout "${E2E_TIMEOUT:-75m}" -run "$run_pattern" 2>&1 | tee "$OUT/test.log" >&2

passed=0
failed=0
for c in "${cases[@]}"; do
  if grep -qE "^--- PASS: $c \(" "$OUT/test.log"; then passed=$((passed + 1)); else failed=$((failed + 1)); log "case failed or did not run: $c"; fi
done
grep -E '^\s+[a-z_0-9]+_test\.go:[0-9]+: (time to Ready|both Ready|kube-router|restored cluster|bookings during|tenant e2e-c Ready|resumed|backup |bucket:)' "$OUT/test.log" >"$OUT/figures.txt" || true
((failed == 0)) || collect
teardown
log "e2e done in $((SECONDS - start))s"
echo "$passed passed, $failed failed"
((failed == 0))
