#!/usr/bin/env bash
# hack/demo/barman-plugin-manifest.sh - render the Barman Cloud plugin's install
# manifest (CRD ObjectStore, RBAC, Deployment and Service `barman-cloud` in
# cnpg-system, a self-signed cert-manager Issuer and the server/client
# Certificates of the plugin's mTLS) from the kubernetes/ kustomization of the
# github.com/cloudnative-pg/plugin-barman-cloud module, with our images:
#   - plugin image -> PLUGIN_IMAGE, imagePullPolicy IfNotPresent
#   - Secret plugin-barman-cloud: SIDECAR_IMAGE -> SIDECAR_IMAGE (the image the
#     plugin injects into PostgreSQL pods)
#   - --log-level=info (upstream's kustomization says debug)
# Needs cert-manager (Issuer, Certificate) and CNPG (namespace cnpg-system) installed first.
#
# Usage: hack/demo/barman-plugin-manifest.sh PLUGIN_IMAGE SIDECAR_IMAGE > plugin-barman-cloud.yaml
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -eq 2 ]] || die "usage: $0 PLUGIN_IMAGE SIDECAR_IMAGE"
require_go
image="$1" sidecar="$2"
src="$(mod_field "github.com/cloudnative-pg/plugin-barman-cloud@v$BARMAN_PLUGIN_VERSION" Dir)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-barman-manifest.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/config" "$src/kubernetes" "$tmp/"
chmod -R u+w "$tmp"
base_image="$(awk '/^images:/ {f=1} f && /newName:/ {print $2; exit}' "$tmp/kubernetes/kustomization.yaml")"
[[ -n $base_image ]] || die "kubernetes/kustomization.yaml of the plugin changed shape; revisit $0"
mkdir -p "$tmp/slotbook"
cat >"$tmp/slotbook/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../kubernetes
images:
- name: $base_image
  newName: ${image%:*}
  newTag: ${image##*:}
secretGenerator:
- name: plugin-barman-cloud
  namespace: cnpg-system
  behavior: replace
  literals:
  - SIDECAR_IMAGE=$sidecar
patches:
- target:
    group: apps
    version: v1
    kind: Deployment
    name: barman-cloud
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/imagePullPolicy
      value: IfNotPresent
YAML
(cd "$DEMO_HACK/kustomize" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go run . "$tmp/slotbook") |
  sed 's/^\(\s*- --log-level=\)debug$/\1info/'
