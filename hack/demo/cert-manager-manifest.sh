#!/usr/bin/env bash
# hack/demo/cert-manager-manifest.sh - install manifest for our cert-manager
# controller (hack/demo/cert-manager): namespace cert-manager, the CRDs of the
# github.com/cert-manager/cert-manager module (deploy/crds, plain YAML), RBAC
# for the controllers our main runs (the chart's controller-issuers,
# -clusterissuers, -certificates and -approve rules, folded into one
# ClusterRole), the leader-election Lease role and a one-replica Deployment.
# No webhook (no defaulting/validation of cert-manager objects beyond the CRDs'
# schemas), no cainjector, no ACME.
#
# Usage: hack/demo/cert-manager-manifest.sh IMAGE > cert-manager.yaml
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -eq 1 ]] || die "usage: $0 IMAGE"
require_go
image="$1"
src="$(mod_field "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" Dir)"
ns=cert-manager
# labels INDENT: the common labels, continuation lines indented by INDENT spaces.
labels() {
  local pad
  pad="$(printf '%*s' "$1" '')"
  printf 'app.kubernetes.io/name: cert-manager\n%sapp.kubernetes.io/component: controller\n%sapp.kubernetes.io/version: v%s' \
    "$pad" "$pad" "$CERT_MANAGER_VERSION"
}

cat <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
  labels:
    pod-security.kubernetes.io/enforce: restricted
YAML
for f in "$src"/deploy/crds/*.yaml; do
  echo "---"
  grep -v '^---$' "$f"
done
cat <<YAML
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cert-manager
  namespace: $ns
  labels:
    $(labels 4)
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-manager-controller
  labels:
    $(labels 4)
rules:
- apiGroups: ["cert-manager.io"]
  resources: ["certificates", "certificaterequests", "issuers", "clusterissuers"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["cert-manager.io"]
  resources: ["certificates/status", "certificaterequests/status", "issuers/status", "clusterissuers/status"]
  verbs: ["update", "patch"]
- apiGroups: ["cert-manager.io"]
  resources: ["certificates/finalizers", "certificaterequests/finalizers", "issuers/finalizers", "clusterissuers/finalizers"]
  verbs: ["update"]
- apiGroups: ["cert-manager.io"]
  resources: ["certificaterequests"]
  verbs: ["create", "delete", "deletecollection"]
- apiGroups: ["cert-manager.io"]
  resources: ["signers"]
  resourceNames: ["issuers.cert-manager.io/*", "clusterissuers.cert-manager.io/*"]
  verbs: ["approve"]
- apiGroups: ["acme.cert-manager.io"]
  resources: ["orders", "challenges"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "delete", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cert-manager-controller
  labels:
    $(labels 4)
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cert-manager-controller
subjects:
- kind: ServiceAccount
  name: cert-manager
  namespace: $ns
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: cert-manager-controller-leaderelection
  namespace: $ns
  labels:
    $(labels 4)
rules:
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: ["cert-manager-controller"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: cert-manager-controller-leaderelection
  namespace: $ns
  labels:
    $(labels 4)
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: cert-manager-controller-leaderelection
subjects:
- kind: ServiceAccount
  name: cert-manager
  namespace: $ns
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cert-manager
  namespace: $ns
  labels:
    $(labels 4)
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: cert-manager
      app.kubernetes.io/component: controller
  template:
    metadata:
      labels:
        $(labels 8)
    spec:
      serviceAccountName: cert-manager
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: cert-manager-controller
        image: $image
        imagePullPolicy: IfNotPresent
        args:
        - --v=2
        - --cluster-resource-namespace=\$(POD_NAMESPACE)
        - --leader-election-namespace=\$(POD_NAMESPACE)
        env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        ports:
        - containerPort: 9402
          name: http-metrics
        - containerPort: 9403
          name: http-healthz
        livenessProbe:
          httpGet:
            path: /livez
            port: http-healthz
        readinessProbe:
          httpGet:
            path: /readyz
            port: http-healthz
        resources:
          requests:
            cpu: 10m
            memory: 64Mi
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: ["ALL"]
YAML
