#!/usr/bin/env bash
# hack/demo/up.sh - `make demo`: the local single-node cluster (hack/cluster) with everything a
# Slotbook tenant needs, and one demo tenant, Ready and seeded. Ends by printing three lines on
# stdout:
#   URL=https://demo.slotbook.test/   the booking page, through the ingress controller
#   CONNECT=10.250.0.1:30443          where that host's port 443 is reached from this machine
#   CACERT=<repo>/bin/demo/ca.crt     the CA that signed its certificate
# e.g. curl --cacert "$CACERT" --connect-to "demo.slotbook.test:443:$CONNECT" "$URL"
# The admin kubeconfig is bin/cluster/kubeconfig. Progress goes to stderr.
#
# Steps (each one named in the log; a failure names the step and where the logs are):
#   build        what is not cached: cluster binaries (hack/cluster/build.sh), third-party
#                controllers and images (hack/demo/build.sh), helm (hack/helm.sh); our own
#                images come from `make images` (bin/images, the Makefile runs it first)
#   cluster      hack/cluster/up.sh (a healthy running cluster is reused)
#   images       import every image into the cluster's containerd
#   install      cert-manager, CloudNativePG, the Barman Cloud plugin, versitygw + bucket,
#                Traefik, the demo CA ClusterIssuer, the Slotbook operator (its Helm chart)
#   tenant       the TenantClass and Tenant of hack/demo/manifests, wait for Ready, seed
#
# DEMO_TENANT=0 stops after the TenantClass (the platform alone, for the e2e suite) and prints
# only CONNECT and CACERT.
#
# Idempotent: every step applies server-side or upgrades, so a second run changes only what
# changed (e.g. new images of ours). make cluster-down removes it all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec 3>&1 1>&2

DEMO_DIR="$REPO_ROOT/bin/demo"
DEMO_HOST="demo.slotbook.test"          # hack/demo/manifests/tenant.yaml
TRAEFIK_HTTPS_NODEPORT=30443            # hack/demo/traefik-manifest.sh
READY_TIMEOUT="${DEMO_READY_TIMEOUT:-600}"
S3_ACCESS_KEY=slotbook-demo S3_SECRET_KEY=slotbook-demo-secret   # versitygw-manifest.sh's demo keys
KUBECTL=("$KUBE_DIR/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
T0=$SECONDS

on_exit() {
  local rc=$?
  [[ $rc == 0 || -z $CURRENT_STEP ]] && return
  log "FAILED in step \"$CURRENT_STEP\" after $((SECONDS - T0))s"
  log "logs: daemons $LOG_DIR/<daemon>.log, pods $CLUSTER_DIR/pod-logs/<namespace>_<pod>_<uid>/,"
  log "      kubectl: ${KUBECTL[*]} get pods -A; events: ... get events -A --sort-by=.lastTimestamp"
}
trap on_exit EXIT

# apply FILE|-: server-side apply as the demo's field manager, taking over fields on reruns.
apply() { "${KUBECTL[@]}" apply --server-side --force-conflicts --field-manager=slotbook-demo -f "$1" >/dev/null; }

# rollout NAMESPACE: wait until every Deployment of the namespace is rolled out.
rollout() { "${KUBECTL[@]}" -n "$1" rollout status deployment --timeout=300s >/dev/null; }

# render FILE: a manifest of hack/demo/manifests with its @PLACEHOLDERS@ filled in.
render() {
  sed -e "s|@CLUSTER_CIDR@|$CLUSTER_CIDR|g" -e "s|@APP_IMAGE@|$APP_IMAGE|g" \
    -e "s|@POSTGRES_IMAGE@|$POSTGRES_IMAGE|g" -e "s|@S3_ACCESS_KEY@|$S3_ACCESS_KEY|g" \
    -e "s|@S3_SECRET_KEY@|$S3_SECRET_KEY|g" "$DEMO_HACK/manifests/$1"
}

# image_name TARBALL: the name `make images` gave an image tarball.
image_name() { tar -xOf "$1" index.json | sed -n 's/.*"io.containerd.image.name":"\([^"]*\)".*/\1/p' | head -n1; }

step "build"
[[ $(id -u) == 0 ]] || die "make demo needs root (the local cluster runs containerd, bridges, iptables)"
"$CLUSTER_HACK/deps.sh"
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
"$CLUSTER_HACK/build.sh" all
"$DEMO_HACK/build.sh" all
HELM="$("$REPO_ROOT/hack/helm.sh")"
for t in slotbook-operator slotbook; do
  [[ -f $REPO_ROOT/bin/images/$t.tar ]] || die "bin/images/$t.tar missing: run make images (make demo does)"
done
OPERATOR_IMAGE="$(image_name "$REPO_ROOT/bin/images/slotbook-operator.tar")"
APP_IMAGE="$(image_name "$REPO_ROOT/bin/images/slotbook.tar")"
POSTGRES_IMAGE="$(<"$DEMO_CACHE/postgresql-$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV/image-name")"
[[ -n $OPERATOR_IMAGE && -n $APP_IMAGE ]] || die "cannot read the image names in bin/images/*.tar"
log "build done after $((SECONDS - T0))s (operator $OPERATOR_IMAGE, app $APP_IMAGE)"

step "cluster"
"$CLUSTER_HACK/up.sh" >/dev/null
T_CLUSTER=$SECONDS

step "images"
# Third-party images are imported once per cluster (their names carry their versions); ours
# on every run, since `make images` tags them with the commit.
mapfile -t present < <(ctr --address "$RUN_DIR/containerd.sock" -n k8s.io images ls -q 2>/dev/null)
tarballs=()
for dir in "$DEMO_CACHE"/cnpg-"$CNPG_VERSION" "$DEMO_CACHE"/postgresql-"$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV" \
  "$DEMO_CACHE"/barman-cloud-plugin-"$BARMAN_PLUGIN_VERSION" "$DEMO_CACHE"/cert-manager-"$CERT_MANAGER_VERSION" \
  "$DEMO_CACHE"/versitygw-"$VERSITYGW_VERSION" "$DEMO_CACHE"/traefik-"$TRAEFIK_VERSION"; do
  for name_file in "$dir"/image-name "$dir"/sidecar-image-name; do
    [[ -f $name_file ]] || continue
    name="$(<"$name_file")"
    printf '%s\n' "${present[@]}" | grep -qxF "$name" && continue
    case "$name_file" in
    *sidecar-image-name) tarballs+=("$dir"/plugin-barman-cloud-sidecar.oci.tar) ;;
    *) tarballs+=("$(find "$dir" -maxdepth 1 -name '*.oci.tar' ! -name '*sidecar*')") ;;
    esac
  done
done
tarballs+=("$REPO_ROOT/bin/images/slotbook-operator.tar" "$REPO_ROOT/bin/images/slotbook.tar")
"$CLUSTER_HACK/import-image.sh" "${tarballs[@]}"

step "install cert-manager"
apply "$DEMO_CACHE/cert-manager-$CERT_MANAGER_VERSION/cert-manager.yaml"
rollout cert-manager

step "install CloudNativePG"
apply "$DEMO_CACHE/cnpg-$CNPG_VERSION/cnpg-operator.yaml"
rollout cnpg-system

step "install the Barman Cloud plugin"
apply "$DEMO_CACHE/barman-cloud-plugin-$BARMAN_PLUGIN_VERSION/plugin-barman-cloud.yaml"
rollout cnpg-system

step "install versitygw (S3) and the backup bucket"
mkdir -p "$DEMO_DIR"
"$DEMO_HACK/versitygw-manifest.sh" "$(<"$DEMO_CACHE/versitygw-$VERSITYGW_VERSION/image-name")" \
  "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$DEMO_DIR/versitygw.yaml"
apply "$DEMO_DIR/versitygw.yaml"
rollout versitygw
s3_ip="$("${KUBECTL[@]}" -n versitygw get service versitygw -o jsonpath='{.spec.clusterIP}')"
# First the store's health through its Service (the Service's kube-proxy rules and the pod's
# readiness can lag `rollout status` by a moment), then CreateBucket: 200 when made, 409
# BucketAlreadyOwnedByYou on a rerun. Both retried for a minute.
created=0
for ((i = 0; i < 30; i++)); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$s3_ip:7070/healthz") == 200 ]]; then
    code="$(curl -sS -o "$DEMO_DIR/create-bucket.out" -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
      --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
      -X PUT "http://$s3_ip:7070/slotbook-backups" 2>"$DEMO_DIR/create-bucket.err")" || true
    if [[ $code == 200 ]] || grep -q BucketAlreadyOwnedByYou "$DEMO_DIR/create-bucket.out" 2>/dev/null; then
      created=1
      break
    fi
    log "CreateBucket answered HTTP $code, retrying: $(head -c 200 "$DEMO_DIR/create-bucket.out" 2>/dev/null)"
  fi
  sleep 2
done
[[ $created == 1 ]] || die "creating the bucket slotbook-backups failed (last HTTP ${code:-none}): $(cat "$DEMO_DIR/create-bucket.out" "$DEMO_DIR/create-bucket.err" 2>/dev/null)"

step "install Traefik"
apply "$DEMO_CACHE/traefik-$TRAEFIK_VERSION/traefik.yaml"
rollout traefik

step "install the demo CA"
render platform.yaml | apply -
"${KUBECTL[@]}" wait --for=condition=Ready clusterissuer/slotbook-ca --timeout=120s >/dev/null
"${KUBECTL[@]}" -n cert-manager get secret slotbook-demo-ca -o jsonpath='{.data.ca\.crt}' | base64 -d >"$DEMO_DIR/ca.crt"

step "install the Slotbook operator (Helm chart)"
# Helm installs a chart's CRDs on the first install only; apply them so reruns update them.
apply "$REPO_ROOT/charts/slotbook-operator/crds"
"$HELM" --kubeconfig "$KUBECONFIG_ADMIN" upgrade --install slotbook-operator "$REPO_ROOT/charts/slotbook-operator" \
  --namespace slotbook-system --set image.repository="${OPERATOR_IMAGE%:*}" --set image.tag="${OPERATOR_IMAGE##*:}" \
  --wait --timeout 5m >/dev/null

step "TenantClass demo"
render class.yaml | apply -
CONNECT="$NODE_IP:$TRAEFIK_HTTPS_NODEPORT"
if [[ ${DEMO_TENANT:-1} == 0 ]]; then
  CURRENT_STEP=""
  log "platform ready in $((SECONDS - T0))s (no demo tenant: DEMO_TENANT=0)"
  echo "CONNECT=$CONNECT" >&3
  echo "CACERT=$DEMO_DIR/ca.crt" >&3
  exit 0
fi

step "demo tenant: Ready"
render tenant.yaml | apply -
T_TENANT=$SECONDS
"${KUBECTL[@]}" wait tenant/demo --for=condition=Ready --timeout="${READY_TIMEOUT}s" >/dev/null ||
  die "tenant demo not Ready after ${READY_TIMEOUT}s: $("${KUBECTL[@]}" get tenant demo -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.message}{"\n"}{end}')"
log "tenant demo Ready $((SECONDS - T_TENANT))s after it was applied"

step "demo tenant: seed the demo business"
ns="$("${KUBECTL[@]}" get tenant demo -o jsonpath='{.status.namespace}')"
# The app's own binary in the app's pod: same environment as serve; it skips a seeded database.
"${KUBECTL[@]}" -n "$ns" exec deploy/booking -c booking -- /usr/local/bin/slotbook seed-demo >/dev/null 2>&1 ||
  die "seed-demo failed: $("${KUBECTL[@]}" -n "$ns" exec deploy/booking -c booking -- /usr/local/bin/slotbook seed-demo 2>&1 | tail -n 3)"

step "check the booking page through the ingress"
URL="https://$DEMO_HOST/"
for ((i = 0; i < 60; i++)); do
  curl -fsS --cacert "$DEMO_DIR/ca.crt" --connect-to "$DEMO_HOST:443:$CONNECT" "$URL" -o "$DEMO_DIR/index.html" 2>/dev/null && break
  sleep 1
done
grep -q "Salon Morgenrot" "$DEMO_DIR/index.html" 2>/dev/null ||
  die "$URL (via $CONNECT) did not show the demo business: $(curl -sS --cacert "$DEMO_DIR/ca.crt" --connect-to "$DEMO_HOST:443:$CONNECT" "$URL" 2>&1 | head -c 300)"
CURRENT_STEP=""

owner_job="$("${KUBECTL[@]}" get tenant demo -o jsonpath='{.status.ownerSetup.jobName}')"
log "demo ready in $((SECONDS - T0))s (cluster after $((T_CLUSTER - T0))s, tenant Ready $((SECONDS - T_TENANT))s after it was applied)"
log "try: curl --cacert $DEMO_DIR/ca.crt --connect-to $DEMO_HOST:443:$CONNECT $URL"
log "owner account setup link: ${KUBECTL[*]} -n $ns logs job/$owner_job"
log "kubectl: ${KUBECTL[*]} get tenants"
echo "URL=$URL" >&3
echo "CONNECT=$CONNECT" >&3
echo "CACERT=$DEMO_DIR/ca.crt" >&3
