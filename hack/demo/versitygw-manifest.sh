#!/usr/bin/env bash
# hack/demo/versitygw-manifest.sh - the demo's S3 store: namespace versitygw
# (PSA restricted), Secret versitygw-root (ROOT_ACCESS_KEY_ID /
# ROOT_SECRET_ACCESS_KEY), a one-replica Deployment of our versitygw image
# (posix backend on the PersistentVolumeClaim versitygw-data, 10Gi of the
# default StorageClass: backups outlive the pod) and Service versitygw:7070.
# Buckets: `curl --aws-sigv4 aws:amz:us-east-1:s3 --user KEY:SECRET
# -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X PUT http://<svc>:7070/<bucket>`
# (or any S3 client's CreateBucket); a directory made under the data dir is a
# bucket of the root account too.
#
# Usage: hack/demo/versitygw-manifest.sh IMAGE [ACCESS_KEY SECRET_KEY] > versitygw.yaml
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -eq 1 || $# -eq 3 ]] || die "usage: $0 IMAGE [ACCESS_KEY SECRET_KEY]"
image="$1" access="${2:-slotbook-demo}" secret="${3:-slotbook-demo-secret}"
cat <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: versitygw
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: Secret
metadata:
  name: versitygw-root
  namespace: versitygw
stringData:
  ROOT_ACCESS_KEY_ID: $access
  ROOT_SECRET_ACCESS_KEY: $secret
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: versitygw-data
  namespace: versitygw
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 10Gi}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: versitygw
  namespace: versitygw
  labels: {app.kubernetes.io/name: versitygw, app.kubernetes.io/version: v$VERSITYGW_VERSION}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {app.kubernetes.io/name: versitygw}
  template:
    metadata:
      labels: {app.kubernetes.io/name: versitygw}
    spec:
      enableServiceLinks: false
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        fsGroup: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: versitygw
        image: $image
        imagePullPolicy: IfNotPresent
        args: [--port, ":7070", --health, /healthz, --quiet, posix, /data]
        envFrom:
        - secretRef: {name: versitygw-root}
        ports:
        - {name: s3, containerPort: 7070}
        readinessProbe:
          httpGet: {path: /healthz, port: s3}
        livenessProbe:
          httpGet: {path: /healthz, port: s3}
        resources:
          requests: {cpu: 10m, memory: 64Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts:
        - {name: data, mountPath: /data}
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: versitygw-data}
---
apiVersion: v1
kind: Service
metadata:
  name: versitygw
  namespace: versitygw
spec:
  selector: {app.kubernetes.io/name: versitygw}
  ports:
  - {name: s3, port: 7070, targetPort: s3}
YAML
