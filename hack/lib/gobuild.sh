# hack/lib/gobuild.sh - helpers shared by the scripts that build third-party binaries from the
# Go module proxy into a cache keyed by version (hack/cluster/build.sh, hack/demo/build.sh).
# Sourced, not run. The sourcing script defines log and die, and sets BUILD_CACHE (where the
# lock files of with_component live).

require_go() {
  command -v go >/dev/null 2>&1 && return 0
  [[ -x /usr/local/go/bin/go ]] || die "'go' not found (nor /usr/local/go/bin/go); install Go 1.26+"
  export PATH="$PATH:/usr/local/go/bin"
}

# begin_builds NAME: the common start of a build script. Go must be there; the wrapper-module
# builds are isolated from the caller's go.work / GOFLAGS and static, as upstream releases them;
# $BUILD_CACHE exists; work_root is a fresh temp dir, and an EXIT trap removes it and a
# half-filled $out (a failed or interrupted build leaves no <component>.tmp.<pid> behind).
begin_builds() {
  require_go
  export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  mkdir -p "$BUILD_CACHE"
  work_root="$(mktemp -d "${TMPDIR:-/tmp}/slotbook-$1-build.XXXXXX")"
  out=""
  trap 'rm -rf "$work_root"; [[ -z $out || ! -d $out ]] || rm -rf "$out"' EXIT
}

# mod_field MODULE@VERSION FIELD: one string field of `go mod download -json`
# (Dir, GoMod, Info, ...). Run from / so that no go.mod or go.work around the caller applies.
mod_field() {
  local json
  json="$(cd / && GOFLAGS=-mod=mod GOWORK=off go mod download -json "$1")" || die "cannot download $1: $json"
  sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$json" | head -n1
}

# go_build OUT PKG LDFLAGS [FLAGS...]: a static go build with a heartbeat every minute (cold
# builds take many minutes on 2 cores).
go_build() {
  local o="$1" pkg="$2" ldflags="$3" start=$SECONDS pid next
  shift 3
  go build -trimpath "$@" -ldflags "$ldflags" -o "$o" "$pkg" 8>&- &
  pid=$!
  next=$((start + 60))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if ((SECONDS >= next)); then log "  ... still building $(basename "$o") ($((SECONDS - start))s)"; next=$((next + 60)); fi
  done
  wait "$pid" || die "go build $pkg failed"
}

# with_component NAME DIR FUNC: run FUNC (which fills $out) under a lock unless DIR is complete;
# rename the finished tree into place, so that a directory that exists is always complete.
# The caller's EXIT trap removes a half-filled $out.
with_component() {
  local name="$1" dir="$2" fn="$3" start
  [[ -d $dir ]] && { log "$name: cached in $dir"; return 0; }
  exec 8>"$BUILD_CACHE/.$name.lock"
  flock 8
  if [[ -d $dir ]]; then exec 8>&-; log "$name: built meanwhile by another run"; return 0; fi
  out="$dir.tmp.$$"
  rm -rf "$out"; mkdir -p "$out"
  start=$SECONDS
  log "$name: building into $dir (cold builds take minutes)"
  "$fn"
  echo $((SECONDS - start)) >"$out/build-seconds"
  rm -rf "$dir"; mv "$out" "$dir"
  out=""
  exec 8>&-
  log "$name: built in $((SECONDS - start))s"
}
