#!/usr/bin/env bash
# hack/demo/check-image.sh - prove that an image tarball of hack/demo loads into
# containerd and runs, without touching the local cluster's containerd: starts a
# private containerd (Debian's, as the cluster uses) with its own root, state
# and socket under ${DEMO_CTR_DIR:-/tmp/slotbook-demo-ctr}, imports the tarball
# into namespace k8s.io with `ctr images import` (what hack/cluster/import-image.sh
# does), and with a command runs it once with `ctr run` (runc, host network).
#
# Usage: hack/demo/check-image.sh TARBALL [USER -- COMMAND...]
#        hack/demo/check-image.sh --stop     # stop the private containerd
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="${DEMO_CTR_DIR:-/tmp/slotbook-demo-ctr}"
sock="$dir/containerd.sock"

if [[ ${1:-} == --stop ]]; then
  [[ -f $dir/pid ]] && kill "$(cat "$dir/pid")" 2>/dev/null || true
  rm -f "$dir/pid"
  exit 0
fi
[[ $# -ge 1 ]] || die "usage: $0 TARBALL [COMMAND...]"
tarball="$1"; shift
command -v containerd >/dev/null || die "containerd not installed (apt-get install containerd runc)"

if ! { [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }; then
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
[metrics]
  address = ""
TOML
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.2; done
  [[ -S $sock ]] || die "private containerd did not start; see $dir/containerd.log"
fi

c="ctr --address $sock -n k8s.io"
imported="$($c images import "$tarball" 2>&1)" || die "import failed: $imported"
name="$(awk '/^unpacking/ {print $2}' <<<"$imported" | head -n1)"
[[ -n $name ]] || die "import printed no image name: $imported"
log "imported $name"
$c images ls "name==$name" | sed 1d | awk '{print "  digest " $3 ", size " $4 $5}' >&2
if [[ $# -gt 0 ]]; then
  id="slotbook-demo-check-$$"
  # --net-host: no CNI needed; the run's output is this script's output.
  $c run --rm --net-host "$name" "$id" "$@"
fi
