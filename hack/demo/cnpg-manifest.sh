#!/usr/bin/env bash
# hack/demo/cnpg-manifest.sh - render CloudNativePG's install manifest (CRDs,
# RBAC, webhooks, namespace cnpg-system, Deployment) from the config/ directory
# of the github.com/cloudnative-pg/cloudnative-pg module, the way upstream's
# `make generate-manifest` does, with our image names and no pulls:
#   - image controller -> OPERATOR_IMAGE (also OPERATOR_IMAGE_NAME in the pod,
#     which the operator gives to every PostgreSQL pod's bootstrap init container)
#   - imagePullPolicy IfNotPresent (upstream: Always)
#   - ConfigMap cnpg-controller-manager-env with POSTGRES_IMAGE_NAME (the default
#     operand image of Clusters that do not name one), read through envFrom
#   - no CPU limit (upstream: 100m): on a 2-core demo machine a throttled
#     operator can miss its 30 s startupProbe while it makes its webhook certs
# Rendered with krusty (hack/demo/kustomize, its own module), no kustomize binary.
#
# Usage: POSTGRES_IMAGE=NAME:TAG hack/demo/cnpg-manifest.sh OPERATOR_IMAGE > cnpg-operator.yaml
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -eq 1 ]] || die "usage: POSTGRES_IMAGE=NAME:TAG $0 OPERATOR_IMAGE"
require_go
image="$1"
postgres_image="${POSTGRES_IMAGE:-$(postgres_image)}"
src="$(mod_field "github.com/cloudnative-pg/cloudnative-pg@v$CNPG_VERSION" Dir)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-cnpg-manifest.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/config" "$tmp/config"
chmod -R u+w "$tmp/config"

# What `kustomize edit set image / add patch / add configmap` would append to
# config/manager/kustomization.yaml (which has none of these keys yet).
grep -qE '^(images|patches|configMapGenerator):' "$tmp/config/manager/kustomization.yaml" &&
  die "config/manager/kustomization.yaml of CNPG v$CNPG_VERSION changed shape; revisit $0"
cat >>"$tmp/config/manager/kustomization.yaml" <<YAML

images:
- name: controller
  newName: ${image%:*}
  newTag: ${image##*:}

configMapGenerator:
- name: controller-manager-env
  literals:
  - POSTGRES_IMAGE_NAME=$postgres_image

patches:
- target:
    group: apps
    version: v1
    kind: Deployment
    name: controller-manager
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/imagePullPolicy
      value: IfNotPresent
    - op: remove
      path: /spec/template/spec/containers/0/resources/limits/cpu
    - op: add
      path: /spec/template/spec/containers/0/envFrom
      value:
      - configMapRef:
          name: controller-manager-env
YAML
(cd "$DEMO_HACK/kustomize" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go run . "$tmp/config/default")
