#!/usr/bin/env bash
# hack/envtest-binaries.sh - provide the control-plane binaries that envtest
# (sigs.k8s.io/controller-runtime/pkg/envtest) needs: kube-apiserver and etcd
# (plus kubectl, which envtest does not need but is handy for debugging).
#
# Why build from source: setup-envtest downloads prebuilt tarballs from a
# storage bucket, which our CI and dev machines cannot reach. They can reach
# the Go module proxy, and kube-apiserver and etcd are ordinary Go modules, so
# we compile them ourselves once and keep them in a per-version cache dir.
#
# Usage:
#   hack/envtest-binaries.sh              ensure binaries exist (build if
#                                         missing), print their dir on stdout
#   hack/envtest-binaries.sh --print-dir  print the dir only, build nothing
#   export KUBEBUILDER_ASSETS="$(hack/envtest-binaries.sh)"
#
# stdout carries exactly one line (the absolute dir); all progress goes to
# stderr, so the script is safe to use inside $(...).
#
# Environment:
#   ENVTEST_K8S_VERSION   Kubernetes version, default 1.37.2 (a leading v is ok)
#   ENVTEST_ETCD_VERSION  etcd version, default 3.6.16
#   ENVTEST_CACHE_DIR     cache root, default ${XDG_CACHE_HOME:-$HOME/.cache}/slotbook/envtest
#   ENVTEST_SKIP_KUBECTL=1  do not build the optional kubectl
#   ENVTEST_USE_SETUP_ENVTEST=1  use setup-envtest (downloads; needs internet)
#   KUBEBUILDER_ASSETS    if it already holds kube-apiserver and etcd, it is used as is
#
# Cold build on a 2-core machine (measured, incl. module downloads): about
# 12 min in all: kube-apiserver ~9 min, then kubectl ~1 min, etcd ~2 min.
# Later runs only check `--version` and return in well under a second.
set -euo pipefail

# Keep the real stdout on fd 3 for the single result line and send everything
# else (our logs, go's output) to stderr, so nothing can pollute $(...).
exec 3>&1 1>&2

log() { printf '[envtest-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
}

mode=ensure
case "${1:-}" in
  "") ;;
  --print-dir) mode=print-dir ;;
  -h | --help) usage; exit 0 ;;
  *) usage; die "unknown argument: $1" ;;
esac
[[ $# -le 1 ]] || die "expected at most one argument"

K8S_VERSION="${ENVTEST_K8S_VERSION:-1.37.2}"
K8S_VERSION="${K8S_VERSION#v}"
ETCD_VERSION="${ENVTEST_ETCD_VERSION:-3.6.16}"
ETCD_VERSION="${ETCD_VERSION#v}"
[[ $K8S_VERSION =~ ^1\.([0-9]+)\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] ||
  die "ENVTEST_K8S_VERSION must look like 1.37.2, got '$K8S_VERSION'"
K8S_MINOR="${BASH_REMATCH[1]}"
# Kubernetes publishes its staging repos (k8s.io/api, k8s.io/apiserver, ...)
# as v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>.
STAGING_VERSION="v0.${K8S_VERSION#1.}"

# Resolve the cache dir to an absolute path without creating it, so that
# --print-dir has no side effects.
if [[ -n ${ENVTEST_CACHE_DIR:-} ]]; then
  cache_root="$ENVTEST_CACHE_DIR"
elif [[ -n ${XDG_CACHE_HOME:-} ]]; then
  cache_root="$XDG_CACHE_HOME/slotbook/envtest"
else
  [[ -n ${HOME:-} ]] || die "neither ENVTEST_CACHE_DIR, XDG_CACHE_HOME nor HOME is set"
  cache_root="$HOME/.cache/slotbook/envtest"
fi
[[ $cache_root == /* ]] || cache_root="$PWD/$cache_root"
BIN_DIR="$cache_root/k8s-$K8S_VERSION"

has_assets() { [[ -x $1/kube-apiserver && -x $1/etcd ]]; }

# Respect an explicit KUBEBUILDER_ASSETS that is already usable: the user (or
# a setup-envtest install) chose those binaries on purpose.
if [[ -n ${KUBEBUILDER_ASSETS:-} ]] && has_assets "$KUBEBUILDER_ASSETS"; then
  log "using existing KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  (cd "$KUBEBUILDER_ASSETS" && pwd -P) >&3
  exit 0
fi

# go: the CI image has Go at /usr/local/go but a non-login shell may not have
# it on PATH, so fall back to it before giving up.
require_go() {
  command -v go >/dev/null 2>&1 && return 0
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="$PATH:/usr/local/go/bin"
    return 0
  fi
  die "'go' not found on PATH (nor at /usr/local/go/bin/go). Install Go 1.26+ (https://go.dev/doc/install) and make sure 'go' is on PATH."
}

# The usual route for anyone with internet access: prebuilt binaries.
if [[ ${ENVTEST_USE_SETUP_ENVTEST:-} == 1 ]]; then
  require_go
  setup_args=(use -p path)
  [[ $mode == print-dir ]] && setup_args+=(-i) # -i: installed only, no download
  dir="$(GOWORK=off GOFLAGS="" go run sigs.k8s.io/controller-runtime/tools/setup-envtest@latest \
    "${setup_args[@]}" "$K8S_VERSION")" ||
    die "setup-envtest failed (it downloads binaries, so it needs internet); unset ENVTEST_USE_SETUP_ENVTEST to build from source"
  [[ -n $dir ]] || die "setup-envtest printed no path"
  printf '%s\n' "$dir" >&3
  exit 0
fi

if [[ $mode == print-dir ]]; then
  printf '%s\n' "$BIN_DIR" >&3
  exit 0
fi

# --- build from source -------------------------------------------------------

require_go
mkdir -p "$BIN_DIR"

# Serialize concurrent runs (e.g. several test packages starting at once):
# the renames below already keep the cache consistent, the lock only avoids
# compiling the same thing twice in parallel on a small machine.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BIN_DIR/.lock"
  if ! flock -n 9; then
    log "another run is building into $BIN_DIR; waiting for it"
    flock 9
  fi
fi

# On any exit (including Ctrl-C / SIGTERM from a CI timeout) stop our
# background jobs and drop temp files; finished binaries are never touched.
work_dir=""
build_pid=""
cleanup() {
  if [[ -n $build_pid ]]; then
    kill "$build_pid" 2>/dev/null || true
    wait "$build_pid" 2>/dev/null || true # let go remove its partial output first
  fi
  if [[ -n $work_dir ]]; then rm -rf "$work_dir"; fi
  rm -f "$BIN_DIR"/.*.tmp.$$ 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Isolate the wrapper-module builds from whatever go.work / GOFLAGS the caller
# has (e.g. -mod=vendor from the repo); -mod=mod lets go fill in go.sum and
# indirect requirements of the generated go.mod. -buildvcs=false because the
# wrapper dir is not a checkout. Static binaries, as upstream releases them.
export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

# binary_ok NAME EXPECTED [ARGS...]: NAME exists and `NAME ARGS` (default
# --version) prints EXPECTED as a word. This also catches a cache dir whose
# etcd was built for another ENVTEST_ETCD_VERSION.
binary_ok() {
  local bin="$BIN_DIR/$1" want="$2"
  shift 2
  [[ $# -gt 0 ]] || set -- --version
  local out
  [[ -x $bin ]] || return 1
  # Capture first: `bin | grep -q` would fail at random under pipefail when
  # grep exits early and bin gets SIGPIPE.
  out="$("$bin" "$@" 2>/dev/null)" || return 1
  grep -qwF -- "$want" <<<"$out"
}

# go_build_atomic NAME PKG LDFLAGS [GO BUILD FLAGS...]: build PKG into
# BIN_DIR/NAME via a temp file in the same dir, then rename, so an interrupted
# build never leaves a half-written binary under the real name.
go_build_atomic() {
  local name="$1" pkg="$2" ldflags="$3" start tmp
  shift 3
  tmp="$BIN_DIR/.$name.tmp.$$"
  start=$SECONDS
  log "building $name from $pkg (cold builds take minutes on small machines)"
  # go runs in the background while we poll with short sleeps, because bash
  # runs the INT/TERM traps only after a foreground child has finished (i.e.
  # minutes later), and a compile of kube-apiserver prints nothing for many
  # minutes, so we log a heartbeat. fds 3 (our stdout) and 9 (the lock) are
  # closed for go, so a straggler can neither hold up a caller's $(...) nor
  # keep the lock.
  go build -trimpath "$@" -ldflags "$ldflags" -o "$tmp" "$pkg" 3>&- 9>&- &
  build_pid=$!
  local next_beat=$((start + 60))
  while kill -0 "$build_pid" 2>/dev/null; do
    sleep 2
    if ((SECONDS >= next_beat)); then
      log "  ... still building $name ($((SECONDS - start))s)"
      next_beat=$((next_beat + 60))
    fi
  done
  wait "$build_pid" || die "go build $pkg failed"
  build_pid=""
  mv -f "$tmp" "$BIN_DIR/$name"
  log "built $name in $((SECONDS - start))s ($(du -h "$BIN_DIR/$name" | cut -f1))"
}

# mod_field MODULE@VERSION FIELD: download a module and print one string field
# of `go mod download -json` (no jq on a fresh machine).
mod_field() {
  local json
  json="$(go mod download -json "$1")" || die "cannot download $1 from the Go module proxy: $json"
  sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$json" | head -n1
}

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/envtest-build.XXXXXX")"

build_kube() {
  local want_kubectl="$1" mod_dir=$work_dir/kube gomod go_line staging build_date ldflags
  mkdir -p "$mod_dir"
  cd "$mod_dir"

  # k8s.io/kubernetes cannot simply be required: its go.mod replaces every
  # k8s.io/<staging> module with ./staging/src/k8s.io/<staging>, and replace
  # directives of dependencies are ignored. So the wrapper module repeats each
  # of those replaces, pointing at the published staging release instead.
  log "resolving k8s.io/kubernetes@v$K8S_VERSION"
  gomod="$(mod_field "k8s.io/kubernetes@v$K8S_VERSION" GoMod)"
  [[ -f $gomod ]] || die "no go.mod found for k8s.io/kubernetes@v$K8S_VERSION"
  go_line="$(grep -m1 -E '^go [0-9]' "$gomod")"
  # Matches both "replace x => ./staging/..." and lines inside "replace ( ... )".
  mapfile -t staging < <(grep -E '=>[[:space:]]*\./staging/' "$gomod" |
    sed -E 's/^[[:space:]]*(replace[[:space:]]+)?([^[:space:]]+).*/\2/' | sort -u)
  [[ ${#staging[@]} -gt 0 ]] || die "found no staging replaces in $gomod"

  {
    echo "// Generated by slotbook hack/envtest-binaries.sh; throwaway wrapper module."
    echo "module slotbook.local/envtest-kube"
    echo
    echo "$go_line"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
    echo ")"
  } >go.mod

  # Same version stamping as upstream's hack/lib/version.sh, so that
  # `kube-apiserver --version` and /version report the real release.
  # buildDate = release time of the module, keeping the build reproducible.
  build_date="$(mod_field "k8s.io/kubernetes@v$K8S_VERSION" Info)"
  build_date="$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$build_date" | sed 's/\.[0-9]*Z$/Z/')"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
  done

  # Build tags as in upstream's hack/lib/golang.sh for release builds.
  local tags=-tags=selinux,notest,grpcnotrace
  if ! binary_ok kube-apiserver "v$K8S_VERSION"; then
    go_build_atomic kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$ldflags" "$tags"
  fi
  if [[ $want_kubectl == 1 ]] && ! binary_ok kubectl "v$K8S_VERSION" version --client; then
    go_build_atomic kubectl k8s.io/kubernetes/cmd/kubectl "$ldflags" "$tags"
  fi
}

build_etcd() {
  local mod_dir=$work_dir/etcd gomod
  mkdir -p "$mod_dir"
  cd "$mod_dir"
  log "resolving go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  gomod="$(mod_field "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" GoMod)"
  # A separate wrapper module from kube's, so that minimal version selection
  # does not mix etcd's and Kubernetes' dependency versions (grpc, otel, ...).
  {
    echo "// Generated by slotbook hack/envtest-binaries.sh; throwaway wrapper module."
    echo "module slotbook.local/envtest-etcd"
    echo
    grep -m1 -E '^go [0-9]' "$gomod"
    echo
    echo "require go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
  } >go.mod
  # The same entry point as upstream's server/main.go.
  cat >main.go <<'EOF'
// Command etcd is the etcd server, built for envtest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go_build_atomic etcd . "-s -w"
}

want_kubectl=1
[[ ${ENVTEST_SKIP_KUBECTL:-} == 1 ]] && want_kubectl=0
if binary_ok kube-apiserver "v$K8S_VERSION" &&
  { [[ $want_kubectl == 0 ]] || binary_ok kubectl "v$K8S_VERSION" version --client; }; then
  :
else
  build_kube "$want_kubectl"
fi
if ! binary_ok etcd "$ETCD_VERSION"; then
  build_etcd
fi

has_assets "$BIN_DIR" || die "binaries missing in $BIN_DIR after build"
printf '%s\n' "$BIN_DIR" >&3
