#!/usr/bin/env bash
# hack/cluster/oci-image.sh - pack a directory into a one-layer OCI image-layout
# tarball that `ctr -n k8s.io images import` loads, with tar, gzip and
# sha256sum only (no daemon, no registry). Reproducible: fixed owners, mtimes
# and order.
#
# Usage: hack/cluster/oci-image.sh OUT.tar NAME:TAG ROOTFS_DIR ENTRYPOINT [ARG...]
# The image runs as UID/GID 65532 unless IMAGE_USER is set.
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
out="$1" name="$2" rootfs="$3"
shift 3
user="${IMAGE_USER:-65532:65532}"
arch="$(go env GOARCH 2>/dev/null || echo amd64)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/blobs/sha256"

# put FILE: store FILE as a blob, print its digest hex.
put() {
  local d
  d="$(sha256sum "$1" | cut -d' ' -f1)"
  mv "$1" "$tmp/blobs/sha256/$d"
  echo "$d"
}
json_args() { local a s=""; for a in "$@"; do s+="${s:+,}\"$a\""; done; echo "[$s]"; }

tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu -cf "$tmp/layer.tar" .
diff_id="$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)"
gzip -n -9 "$tmp/layer.tar"
layer_size="$(stat -c %s "$tmp/layer.tar.gz")"
layer="$(put "$tmp/layer.tar.gz")"

printf '{"architecture":"%s","os":"linux","config":{"User":"%s","Entrypoint":%s,"Env":["PATH=/"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$arch" "$user" "$(json_args "$@")" "$diff_id" >"$tmp/config.json"
config_size="$(stat -c %s "$tmp/config.json")"
config="$(put "$tmp/config.json")"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" >"$tmp/manifest.json"
manifest_size="$(stat -c %s "$tmp/manifest.json")"
manifest="$(put "$tmp/manifest.json")"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$arch" "$name" "${name##*:}" >"$tmp/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"

tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out.tmp" oci-layout index.json blobs
mv -f "$out.tmp" "$out"
