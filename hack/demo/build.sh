#!/usr/bin/env bash
# hack/demo/build.sh - build (once) the third-party parts `make demo` runs, from
# the Go module proxy and Debian packages, into a cache keyed by version
# (hack/demo/lib.sh). Each component gets a binary (or rootfs), a one-layer OCI
# image tarball loadable with `ctr -n k8s.io images import`, the image's name in
# image-name and the wall time of its cold build in build-seconds:
#
#   cnpg-<v>/            manager, cnpg.oci.tar, cnpg-operator.yaml (CRDs, RBAC,
#                        webhooks, Deployment rendered from the module's config/)
#   postgresql-<pg>-<suite>-r<rev>/  postgresql.oci.tar, rootfs.tar (debootstrap, postgresql-<pg>,
#                        barman-cli-cloud), packages.txt, versions.txt
#   barman-cloud-plugin-<v>/ manager, plugin-barman-cloud.oci.tar, plugin-barman-cloud-sidecar.oci.tar
#                        (operand rootfs + /manager), plugin-barman-cloud.yaml
#   cert-manager-<v>/    controller (our main, hack/demo/cert-manager), cert-manager.oci.tar, cert-manager.yaml
#   versitygw-<v>/       versitygw, versitygw.oci.tar, versitygw.yaml
#   traefik-<v>/         traefik, traefik.oci.tar, traefik.yaml
#
# Usage: hack/demo/build.sh [all | cnpg | postgresql | barman-cloud-plugin | cert-manager | versitygw | traefik]...
# A component whose directory exists is done; delete it to rebuild.
# docs/development.md, "make demo: third-party parts".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

begin_builds demo

# binary_image NAME:TAG BINARY PATH_IN_IMAGE [ENTRYPOINT...]: a distroless-like
# root (passwd/group with root and nonroot 65532, CA bundle, /tmp 1777) plus one
# binary; written to $out/<component>.oci.tar by the caller's oci_image call.
binary_root() {
  local root="$1" bin="$2" path="$3"
  mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot" "$root$(dirname "$path")"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  install -m 0755 "$bin" "$root$path"
  chown -R 0:0 "$root"
  chown 65532:65532 "$root/home/nonroot"
}

# --- CloudNativePG operator ----------------------------------------------------
# One binary is operator and instance manager: the operator's pods run
# `/manager controller`; every PostgreSQL pod has the init container
# bootstrap-controller running the *operator image* with
# `/manager bootstrap /controller/manager`, which copies the binary into a shared
# emptyDir, and the postgres container runs `/controller/manager instance run`.
# Image layout as upstream's Dockerfile: /operator/manager_<arch> (the operator
# hashes these to tell instance managers' versions apart), /manager a symlink to
# it, WORKDIR / (bootstrap copies the file named by argv[0]'s base name,
# relative to the working directory), user 65532.
build_cnpg() {
  local m="$work_root/cnpg" mod=github.com/cloudnative-pg/cloudnative-pg arch date img
  arch="$(go env GOARCH)"
  img="$DEMO_IMAGE_PREFIX/cloudnative-pg:$CNPG_VERSION"
  new_module "$m" cnpg "$mod@v$CNPG_VERSION"
  date="$(sed -n 's/.*"Time":"\([0-9-]*\)T.*/\1/p' "$(mod_field "$mod@v$CNPG_VERSION" Info)")"
  (cd "$m" && go_build "$out/manager" "$mod/cmd/manager" \
    "-s -w -X $mod/pkg/versions.buildVersion=$CNPG_VERSION -X $mod/pkg/versions.buildCommit=v$CNPG_VERSION -X $mod/pkg/versions.buildDate=${date:-unknown}")
  "$out/manager" version 2>&1 | grep -q "$CNPG_VERSION" || die "cnpg manager does not report $CNPG_VERSION"

  local root="$work_root/cnpg-root"
  binary_root "$root" "$out/manager" "/operator/manager_$arch"
  ln -s "operator/manager_$arch" "$root/manager"
  cp "$(mod_field "$mod@v$CNPG_VERSION" Dir)/LICENSE" "$root/LICENSE.cloudnative-pg"
  IMAGE_WORKDIR=/ oci_image "$out/cnpg.oci.tar" "$img" "$root" -- /manager
  echo "$img" >"$out/image-name"
  "$DEMO_HACK/cnpg-manifest.sh" "$img" >"$out/cnpg-operator.yaml"
}

# --- PostgreSQL operand image ------------------------------------------------------
# CNPG's conventions (docs/src/container_images.md of the module): initdb,
# postgres, pg_ctl, pg_controldata, pg_basebackup on PATH, sensible locale, `du`;
# no entrypoint needed (CNPG runs its instance manager); the tag starts with the
# major version; CNPG's default postgresUID/GID are 26, so postgres is 26:26 here
# (Debian's tape group, GID 26, moves to 1026). Also in the image: Debian's
# barman-cli-cloud 3.4.0 (barman-cloud-* commands, python3-boto3), which the
# Barman Cloud plugin's sidecar image reuses (see build_barman_plugin).
# Debian bookworm from the machine's configured apt mirror, with the
# bookworm-updates and -security updates applied.
build_postgres() {
  local root="$work_root/pg-root" mirror img old_uid old_gid tape_gid
  img="$(postgres_image)"
  mirror="$(debian_mirror)"
  command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
  log "  debootstrap $DEBIAN_SUITE from $mirror (log: $out/debootstrap.log)"
  debootstrap --variant=minbase \
    --include="postgresql-$PG_MAJOR,locales,barman-cli-cloud" \
    "$DEBIAN_SUITE" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $out/debootstrap.log"

  # Updates from -updates and -security, no services started in the chroot.
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$mirror" "$DEBIAN_SUITE" "$mirror" "$DEBIAN_SUITE" "$(debian_security_mirror)" "$DEBIAN_SUITE" >"$root/etc/apt/sources.list"
  { chroot "$root" apt-get update && DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -y --no-install-recommends dist-upgrade; } \
    >>"$out/debootstrap.log" 2>&1 || die "apt-get upgrade in the rootfs failed; see $out/debootstrap.log"

  # The cluster Debian's postinst made is of no use to CNPG (it runs initdb on its PVC).
  chroot "$root" pg_dropcluster "$PG_MAJOR" main >>"$out/debootstrap.log" 2>&1 || true
  rm -rf "$root/var/lib/postgresql/$PG_MAJOR" "$root/etc/postgresql/$PG_MAJOR/main"

  # postgres 26:26 like CNPG's images.
  old_uid="$(chroot "$root" id -u postgres)"; old_gid="$(chroot "$root" id -g postgres)"
  tape_gid="$(chroot "$root" getent group 26 | cut -d: -f1 || true)"
  [[ -z $tape_gid || $tape_gid == postgres ]] || chroot "$root" groupmod -g 1026 "$tape_gid"
  chroot "$root" groupmod -g 26 postgres
  chroot "$root" usermod -u 26 -g 26 postgres
  find "$root" -xdev -uid "$old_uid" -exec chown -h 26 {} +
  find "$root" -xdev -gid "$old_gid" -exec chgrp -h 26 {} +

  # Locale: en_US.UTF-8 as LANG (CNPG's images), C.UTF-8 is built into glibc.
  echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
  chroot "$root" locale-gen >>"$out/debootstrap.log" 2>&1
  chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' >"$out/packages.txt"

  # Slim: no apt lists or caches, docs (copyright files stay), man pages, logs, device nodes.
  rm -f "$root/usr/sbin/policy-rc.d"
  : >"$root/etc/resolv.conf"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/* "$root"/dev/* "$root"/tmp/* \
    "$root"/usr/share/locale/*/LC_MESSAGES/*.mo
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  chroot "$root" sh -c "PATH=/usr/lib/postgresql/$PG_MAJOR/bin:\$PATH; initdb --version; pg_ctl --version; pg_controldata --version; pg_basebackup --version; postgres --version; du --version | head -n1; barman-cloud-backup --version" \
    >"$out/versions.txt" 2>&1 || die "a required command is missing; see $out/versions.txt"

  tar -C "$root" --sort=name --numeric-owner --mtime=@0 --format=gnu -cf "$out/rootfs.tar" .
  IMAGE_USER=26:26 IMAGE_CMD=postgres \
    IMAGE_ENV="PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=en_US.utf8 PGDATA=/var/lib/postgresql/data/pgdata" \
    oci_image "$out/postgresql.oci.tar" "$img" "$out/rootfs.tar" --
  echo "$img" >"$out/image-name"
}

# --- Barman Cloud plugin ----------------------------------------------------------
# One binary, three roles: `manager operator` (the plugin's Deployment, a gRPC
# server CNPG talks to over mTLS with cert-manager certificates), `manager
# instance` (the sidecar the plugin injects into every PostgreSQL pod, which
# runs barman-cloud-* there) and `manager restore`. plugin-barman-cloud v0.15.0
# asks for barman-cloud and machinery v0.6.0, which the Go module proxy refuses;
# v0.5.1 / v0.5.0 (CNPG 1.30.0's) are put in with `replace` as in the
# repository's go.mod. machinery v0.5.0 compiles as it is; barman-cloud v0.5.1
# lacks three error sentinels of the restorer and the
# data.restoreAdditionalCommandArgs field, which
# patches/barman-cloud-v0.5.1-plugin-v0.15.0.patch adds to a copy of the module
# (replace => that directory). Two images: the operator's (binary only) and the
# sidecar's (the PostgreSQL operand rootfs, which carries Debian's
# barman-cli-cloud, plus /manager), running as 26:26 like upstream's sidecar.
build_barman_plugin() {
  local m="$work_root/barman-plugin" mod=github.com/cloudnative-pg/plugin-barman-cloud pg_dir img sidecar
  pg_dir="$DEMO_CACHE/postgresql-$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV"
  [[ -f $pg_dir/rootfs.tar ]] || die "the sidecar image needs the postgresql component first ($pg_dir)"
  img="$DEMO_IMAGE_PREFIX/plugin-barman-cloud:$BARMAN_PLUGIN_VERSION"
  sidecar="$DEMO_IMAGE_PREFIX/plugin-barman-cloud-sidecar:$BARMAN_PLUGIN_VERSION-pg$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV"
  new_module "$m" barman-plugin "$mod@v$BARMAN_PLUGIN_VERSION"
  cp -r "$(mod_field github.com/cloudnative-pg/barman-cloud@v0.5.1 Dir)" "$m/barman-cloud"
  chmod -R u+w "$m/barman-cloud"
  (cd "$m/barman-cloud" && git apply "$DEMO_HACK/patches/barman-cloud-v0.5.1-plugin-v0.15.0.patch") ||
    die "patch of barman-cloud v0.5.1 failed"
  cat >>"$m/go.mod" <<MOD

// v0.6.0 of both is not served by the Go module proxy.
replace github.com/cloudnative-pg/barman-cloud => ./barman-cloud

replace github.com/cloudnative-pg/machinery => github.com/cloudnative-pg/machinery v0.5.0
MOD
  (cd "$m" && go_build "$out/manager" "$mod/cmd/manager" "-s -w")
  "$out/manager" --help >/dev/null 2>&1 || die "plugin manager does not run"

  local root="$work_root/barman-plugin-root" side="$work_root/barman-sidecar-root"
  binary_root "$root" "$out/manager" /manager
  oci_image "$out/plugin-barman-cloud.oci.tar" "$img" "$root" -- /manager
  echo "$img" >"$out/image-name"
  mkdir -p "$side"
  install -m 0755 -o 0 -g 0 "$out/manager" "$side/manager"
  IMAGE_USER=26:26 \
    IMAGE_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=en_US.utf8" \
    oci_image "$out/plugin-barman-cloud-sidecar.oci.tar" "$sidecar" "$pg_dir/rootfs.tar" "$side" -- /manager
  echo "$sidecar" >"$out/sidecar-image-name"
  "$DEMO_HACK/barman-plugin-manifest.sh" "$img" "$sidecar" >"$out/plugin-barman-cloud.yaml"
}

# --- versitygw: S3 gateway (posix backend) ----------------------------------------
build_versitygw() {
  local m="$work_root/versitygw" mod=github.com/versity/versitygw img root="$work_root/versitygw-root"
  img="$DEMO_IMAGE_PREFIX/versitygw:$VERSITYGW_VERSION"
  new_module "$m" versitygw "$mod@v$VERSITYGW_VERSION"
  (cd "$m" && go_build "$out/versitygw" "$mod/cmd/versitygw" \
    "-s -w -X main.Version=v$VERSITYGW_VERSION -X main.Build=v$VERSITYGW_VERSION -X main.BuildTime=none")
  "$out/versitygw" --version 2>&1 | grep -q "$VERSITYGW_VERSION" || die "versitygw does not report $VERSITYGW_VERSION"
  binary_root "$root" "$out/versitygw" /usr/local/bin/versitygw
  oci_image "$out/versitygw.oci.tar" "$img" "$root" -- /usr/local/bin/versitygw
  echo "$img" >"$out/image-name"
  "$DEMO_HACK/versitygw-manifest.sh" "$img" >"$out/versitygw.yaml"
}

# --- Traefik: ingress controller -----------------------------------------------------
# Traefik's go.mod takes github.com/traefik/traefik/dynamic/ext from a directory
# of its repository; the module proxy serves neither that directory nor the
# module, so the wrapper replaces it with hack/demo/traefik-ext (the same empty
# extension structs). The proxy also refuses (403) Traefik's go-http-auth fork
# (github.com/containous/go-http-auth) and 14 SDKs that lego's DNS-01 providers
# import (ucloud, yandex, huaweicloud, tencent, alidns, oci, akamai, ...):
# go-http-auth is replaced by upstream abbot/go-http-auth v0.4.0 (the proxy
# serves no later commit) plus CheckSecret and DigestAuth.RequireAuthStale,
# the two functions of the fork Traefik calls; lego v5 by a copy whose provider registry
# (providers/dns/zz_gen_dns_providers.go) knows no provider, so ACME DNS-01 is
# unavailable in this build (HTTP-01/TLS-ALPN-01 and certificates from
# Secrets are untouched). The web UI is not built (webui/static holds only a
# placeholder in the module): no dashboard.
build_traefik() {
  local m="$work_root/traefik" mod=github.com/traefik/traefik/v3 gomod img root="$work_root/traefik-root" date
  img="$DEMO_IMAGE_PREFIX/traefik:$TRAEFIK_VERSION"
  new_module "$m" traefik "$mod@v$TRAEFIK_VERSION"
  gomod="$(mod_field "$mod@v$TRAEFIK_VERSION" GoMod)"
  local lego_mod lego_v
  lego_mod=github.com/go-acme/lego/v5
  lego_v="$(awk -v m="$lego_mod" '$1 == m {print $2; exit}' "$gomod")"
  [[ -n $lego_v ]] || die "traefik's go.mod has no $lego_mod"
  cp -r "$(mod_field "$lego_mod@$lego_v" Dir)" "$m/lego"
  chmod -R u+w "$m/lego"
  cat >"$m/lego/providers/dns/zz_gen_dns_providers.go" <<'GO'
// Replaced by Slotbook's hack/demo/build.sh: the SDKs of many DNS providers are
// not on the Go module proxy, so this build of lego knows no DNS-01 provider.

package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName always fails in this build.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("DNS provider %q: no DNS-01 providers in this build (slotbook demo)", name)
}
GO
  cp -r "$(mod_field github.com/abbot/go-http-auth@v0.4.0 Dir)" "$m/go-http-auth"
  chmod -R u+w "$m/go-http-auth"
  printf 'module github.com/abbot/go-http-auth\n\ngo 1.22\n' >"$m/go-http-auth/go.mod"
  cat >"$m/go-http-auth/slotbook_compat.go" <<'GO'
// Added by Slotbook's hack/demo/build.sh: what Traefik uses of its fork
// github.com/containous/go-http-auth (not on the Go module proxy) on top of
// upstream v0.4.0.

package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CheckSecret reports whether password matches an htpasswd secret (MD5-crypt
// $1$/$apr1$, {SHA}, bcrypt $2a$/$2x$/$2y$), as BasicAuth.CheckAuth compares.
func CheckSecret(password, secret string) bool {
	compare := compareFuncs[0].compare
	for _, cmp := range compareFuncs[1:] {
		if strings.HasPrefix(secret, cmp.prefix) {
			compare = cmp.compare
			break
		}
	}
	return compare([]byte(secret), []byte(password)) == nil
}

// RequireAuthStale is RequireAuth with stale=true in the challenge.
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	if len(a.clients) > a.ClientCacheSize+a.ClientCacheTolerance {
		a.Purge(a.ClientCacheTolerance * 2)
	}
	nonce := RandomKey()
	a.clients[nonce] = &digest_client{nc: 0, last_seen: time.Now().UnixNano()}
	w.Header().Set(contentType, a.Headers.V().UnauthContentType)
	w.Header().Set(a.Headers.V().Authenticate,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="%s", algorithm="MD5", qop="auth", stale=true`,
			a.Realm, nonce, a.Opaque))
	w.WriteHeader(a.Headers.V().UnauthCode)
	w.Write([]byte(a.Headers.V().UnauthResponse))
}
GO
  {
    echo
    echo "replace github.com/traefik/traefik/dynamic/ext => $DEMO_HACK/traefik-ext"
    echo "replace $lego_mod => ./lego"
    # Traefik's own fork of go-http-auth is not served: upstream's v0.4.0 plus
    # the two functions Traefik uses of the fork (see below).
    echo "replace github.com/abbot/go-http-auth => ./go-http-auth"
    # Traefik's other module => module-version replaces (its forks).
    awk '/^replace \(/ {f=1; next} f && /^\)/ {f=0} f && /=>/ && $4 != "" && $1 != "github.com/abbot/go-http-auth" {print "replace " $0}
         /^replace [^(]/ && $4 !~ /^\./ && NF == 5 && $2 != "github.com/abbot/go-http-auth" {print}' "$gomod"
  } >>"$m/go.mod"
  date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(mod_field "$mod@v$TRAEFIK_VERSION" Info)")"
  (cd "$m" && go_build "$out/traefik" "$mod/cmd/traefik" \
    "-s -w -X $mod/pkg/version.Version=v$TRAEFIK_VERSION -X $mod/pkg/version.Codename=slotbook-demo -X $mod/pkg/version.BuildDate=${date:-unknown}")
  "$out/traefik" version 2>&1 | grep -q "$TRAEFIK_VERSION" || die "traefik does not report $TRAEFIK_VERSION"
  binary_root "$root" "$out/traefik" /usr/local/bin/traefik
  oci_image "$out/traefik.oci.tar" "$img" "$root" -- /usr/local/bin/traefik
  echo "$img" >"$out/image-name"
  "$DEMO_HACK/traefik-manifest.sh" "$img" >"$out/traefik.yaml"
}

# --- cert-manager: our main for the module's controllers ------------------------------
# Upstream's cmd/controller is a module of its own that the Go module proxy does
# not serve (github.com/cert-manager/cert-manager/controller-binary); the
# controllers are in the main module's pkg/controller/... . hack/demo/cert-manager
# is our main and its own module (go.mod/go.sum committed, read-only build).
build_cert_manager() {
  local img root="$work_root/cert-manager-root"
  img="$DEMO_IMAGE_PREFIX/cert-manager:$CERT_MANAGER_VERSION"
  grep -q "github.com/cert-manager/cert-manager v$CERT_MANAGER_VERSION\$" "$DEMO_HACK/cert-manager/go.mod" ||
    die "hack/demo/cert-manager/go.mod does not require cert-manager v$CERT_MANAGER_VERSION"
  (cd "$DEMO_HACK/cert-manager" && GOFLAGS="-mod=readonly -buildvcs=false" \
    go_build "$out/controller" . "-s -w -X main.version=v$CERT_MANAGER_VERSION")
  "$out/controller" --version | grep -q "$CERT_MANAGER_VERSION" || die "controller does not report $CERT_MANAGER_VERSION"
  binary_root "$root" "$out/controller" /app/cmd/controller/controller
  oci_image "$out/cert-manager.oci.tar" "$img" "$root" -- /app/cmd/controller/controller
  echo "$img" >"$out/image-name"
  "$DEMO_HACK/cert-manager-manifest.sh" "$img" >"$out/cert-manager.yaml"
}

# --- main ----------------------------------------------------------------------
components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(all)
for c in "${components[@]}"; do
  case "$c" in
    all) "$0" cnpg postgresql barman-cloud-plugin cert-manager versitygw traefik ;;
    cnpg) with_component cnpg "$DEMO_CACHE/cnpg-$CNPG_VERSION" build_cnpg ;;
    postgresql) with_component postgresql "$DEMO_CACHE/postgresql-$PG_MAJOR-$DEBIAN_SUITE-r$POSTGRES_IMAGE_REV" build_postgres ;;
    barman-cloud-plugin) with_component barman-cloud-plugin "$DEMO_CACHE/barman-cloud-plugin-$BARMAN_PLUGIN_VERSION" build_barman_plugin ;;
    cert-manager) with_component cert-manager "$DEMO_CACHE/cert-manager-$CERT_MANAGER_VERSION" build_cert_manager ;;
    versitygw) with_component versitygw "$DEMO_CACHE/versitygw-$VERSITYGW_VERSION" build_versitygw ;;
    traefik) with_component traefik "$DEMO_CACHE/traefik-$TRAEFIK_VERSION" build_traefik ;;
    *) die "unknown component $c" ;;
  esac
done
