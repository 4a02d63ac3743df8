#!/usr/bin/env bash
# hack/cluster/import-image.sh - load image tarballs (OCI image layout or
# docker-save format, as made by hack/cluster/oci-image.sh and `make images`)
# into the local cluster's containerd, namespace k8s.io, where the kubelet
# finds them. Pods must use imagePullPolicy Never or IfNotPresent: the cluster
# has no registry.
#
# Usage: hack/cluster/import-image.sh TARBALL...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -gt 0 ]] || die "usage: $0 TARBALL..."
sock="$RUN_DIR/containerd.sock"
[[ -S $sock ]] || die "containerd of the local cluster is not running ($sock); run make cluster-up"
for t in "$@"; do
  [[ -f $t ]] || die "no such file: $t"
  # --all-platforms is off on purpose: only this machine's platform is
  # unpacked.
  out="$(ctr --address "$sock" -n k8s.io images import "$t" 2>&1)" || die "import of $t failed: $out"
  log "imported $(basename "$t"): $(awk '/^unpacking/ {print $2}' <<<"$out" | tr '\n' ' ')"
done
