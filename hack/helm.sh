#!/usr/bin/env bash
# hack/helm.sh - provide the helm CLI that the chart tests (test/chart) and `make chart-lint` use.
#
# Like hack/envtest-binaries.sh: helm is an ordinary Go module, so it is built from source through
# the Go module proxy, once, into a per-version cache dir. It is built in a throwaway wrapper
# module, so the repository's go.mod never requires helm.sh/helm (which would pull in helm's
# k8s.io/* versions).
#
# Usage:
#   hack/helm.sh              ensure helm exists (build if missing), print its absolute path
#   hack/helm.sh --print-path print the path only, build nothing
#   HELM="$(hack/helm.sh)"
#
# stdout carries exactly one line (the binary's path); progress goes to stderr.
#
# Environment:
#   HELM_VERSION    helm release, default v3.22.0 (a v4.x also works: helm.sh/helm/v4)
#   HELM_CACHE_DIR  cache root, default ${XDG_CACHE_HOME:-$HOME/.cache}/slotbook/helm
#   HELM            if it names an executable helm already, it is used as is
#
# Cold build on a 2-core machine (measured, incl. module downloads): see docs/development.md.
set -euo pipefail
exec 3>&1 1>&2

log() { printf '[helm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mode=ensure
case "${1:-}" in
  "") ;;
  --print-path) mode=print-path ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac

if [[ -n ${HELM:-} && -x ${HELM:-} ]]; then
  printf '%s\n' "$HELM" >&3
  exit 0
fi

VERSION="${HELM_VERSION:-v3.22.0}"
[[ $VERSION == v* ]] || VERSION="v$VERSION"
[[ $VERSION =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]] || die "HELM_VERSION must look like v3.22.0, got '$VERSION'"
MAJOR="${BASH_REMATCH[1]}"
case "$MAJOR" in
  3) MODULE=helm.sh/helm/v3 ;;
  4) MODULE=helm.sh/helm/v4 ;;
  *) die "unsupported helm major version $MAJOR" ;;
esac

if [[ -n ${HELM_CACHE_DIR:-} ]]; then
  cache_root="$HELM_CACHE_DIR"
elif [[ -n ${XDG_CACHE_HOME:-} ]]; then
  cache_root="$XDG_CACHE_HOME/slotbook/helm"
else
  [[ -n ${HOME:-} ]] || die "neither HELM_CACHE_DIR, XDG_CACHE_HOME nor HOME is set"
  cache_root="$HOME/.cache/slotbook/helm"
fi
[[ $cache_root == /* ]] || cache_root="$PWD/$cache_root"
BIN_DIR="$cache_root/$VERSION"
BIN="$BIN_DIR/helm"

if [[ $mode == print-path ]]; then
  printf '%s\n' "$BIN" >&3
  exit 0
fi

# helm_ok: the cached binary runs and reports the wanted version.
helm_ok() {
  local out
  [[ -x $BIN ]] || return 1
  out="$("$BIN" version --short 2>/dev/null)" || return 1
  [[ $out == "$VERSION"* && -f $BIN_DIR/.stamped ]]
}

if helm_ok; then
  printf '%s\n' "$BIN" >&3
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  [[ -x /usr/local/go/bin/go ]] || die "'go' not found on PATH (nor at /usr/local/go/bin/go)"
  export PATH="$PATH:/usr/local/go/bin"
fi

mkdir -p "$BIN_DIR"
# Concurrent runs (several test packages, make and CI) wait for each other.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BIN_DIR/.lock"
  flock 9
  if helm_ok; then
    printf '%s\n' "$BIN" >&3
    exit 0
  fi
fi

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/helm-build.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT

# A throwaway module outside the repository: no go.work, no -mod=readonly from the caller.
export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
cd "$work_dir"
go mod init slotbook.local/helm-build >/dev/null 2>&1
start=$SECONDS
log "building $MODULE/cmd/helm@$VERSION (cold builds take a few minutes on small machines)"
go get "$MODULE@$VERSION" >/dev/null 2>&1 || die "cannot fetch $MODULE@$VERSION from the Go module proxy"
# The same stamps as upstream's Makefile: the release version, and the Kubernetes version that
# `helm template` and `helm lint` assume (.Capabilities.KubeVersion; without it helm says 1.20),
# taken from the k8s.io/client-go this helm is built with (v0.37 -> 1.37), as upstream does.
mod_dir="$(go list -m -f '{{.Dir}}' "$MODULE")"
client_go="$(go list -m -f '{{.Version}}' k8s.io/client-go)"
[[ $client_go =~ ^v0\.([0-9]+)\. ]] || die "unexpected k8s.io/client-go version $client_go"
k8s_minor="${BASH_REMATCH[1]}"
ldflags="-s -w"
while read -r var; do
  case "$var" in
    */version.version) ldflags+=" -X $var=$VERSION" ;;
    *.k8sVersionMajor) ldflags+=" -X $var=1" ;;
    *.k8sVersionMinor) ldflags+=" -X $var=$k8s_minor" ;;
  esac
done < <(grep -oE -- '-X [^ =]+(version\.version|k8sVersionMajor|k8sVersionMinor)=' "$mod_dir/Makefile" | sed -E 's/^-X //; s/=$//' | sort -u)
[[ $ldflags == *k8sVersionMinor* ]] || die "found no k8sVersionMinor stamp in $mod_dir/Makefile"
go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/.helm.tmp.$$" "$MODULE/cmd/helm" 3>&- 9>&- ||
  die "go build $MODULE/cmd/helm@$VERSION failed"
mv -f "$BIN_DIR/.helm.tmp.$$" "$BIN"
touch "$BIN_DIR/.stamped"
log "built helm $VERSION in $((SECONDS - start))s"
helm_ok || die "the built helm does not report $VERSION: $("$BIN" version --short 2>&1)"
printf '%s\n' "$BIN" >&3
