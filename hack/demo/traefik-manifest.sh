#!/usr/bin/env bash
# hack/demo/traefik-manifest.sh - the demo's ingress controller: namespace
# traefik (PSA restricted), RBAC for the Kubernetes Ingress provider,
# IngressClass traefik (default class), a one-replica Deployment of our Traefik
# image (entry points web :8000 and websecure :8443 with TLS, certificates from
# each Ingress's spec.tls secretName, /ping on :8080) and Service traefik
# (NodePorts 30080/30443; the cluster's kube-proxy opens them on the node IP,
# which is where `make demo`'s CONNECT=IP:PORT points). Ports above 1024: the
# image runs as 65532 without capabilities.
#
# Usage: hack/demo/traefik-manifest.sh IMAGE > traefik.yaml
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -eq 1 ]] || die "usage: $0 IMAGE"
image="$1"
cat <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: traefik
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: traefik, namespace: traefik}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: traefik-ingress}
rules:
- apiGroups: [""]
  resources: [services, secrets, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: traefik-ingress}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: traefik-ingress}
subjects:
- {kind: ServiceAccount, name: traefik, namespace: traefik}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec:
  controller: traefik.io/ingress-controller
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: traefik
  namespace: traefik
  labels: {app.kubernetes.io/name: traefik, app.kubernetes.io/version: v$TRAEFIK_VERSION}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: traefik}
  template:
    metadata:
      labels: {app.kubernetes.io/name: traefik}
    spec:
      serviceAccountName: traefik
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: traefik
        image: $image
        imagePullPolicy: IfNotPresent
        args:
        - --log.level=INFO
        - --ping=true
        - --entryPoints.traefik.address=:8080
        - --entryPoints.web.address=:8000
        - --entryPoints.websecure.address=:8443
        - --entryPoints.websecure.http.tls=true
        - --providers.kubernetesingress=true
        - --providers.kubernetesingress.ingressEndpoint.publishedService=traefik/traefik
        - --global.checkNewVersion=false
        - --global.sendAnonymousUsage=false
        ports:
        - {name: web, containerPort: 8000}
        - {name: websecure, containerPort: 8443}
        - {name: ping, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /ping, port: ping}
        livenessProbe:
          httpGet: {path: /ping, port: ping}
        resources:
          requests: {cpu: 10m, memory: 64Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: traefik, namespace: traefik}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: traefik}
  ports:
  - {name: web, port: 80, targetPort: web, nodePort: 30080}
  - {name: websecure, port: 443, targetPort: websecure, nodePort: 30443}
YAML
