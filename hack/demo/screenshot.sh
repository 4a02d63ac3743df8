#!/usr/bin/env bash
# hack/demo/screenshot.sh - look at the demo as a user would: headless Chromium opens the demo
# tenant's booking pages through the ingress (Traefik's NodePort) and saves screenshots.
# Chromium trusts no CA of ours, so the certificate is checked first with openssl against the
# demo CA (chain and host name); then Chromium is told to accept exactly that certificate's key
# (--ignore-certificate-errors-spki-list), nothing else.
#
# Usage: hack/demo/screenshot.sh [OUT_DIR]   (default docs/images; run make demo first)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="${1:-$REPO_ROOT/docs/images}"
host=demo.slotbook.test connect="$NODE_IP:30443" ca="$REPO_ROOT/bin/demo/ca.crt"
[[ -f $ca ]] || die "$ca missing: run make demo first"
command -v chromium >/dev/null || die "chromium missing (apt-get install chromium)"
mkdir -p "$out"

leaf="$(mktemp)"
trap 'rm -f "$leaf"' EXIT
openssl s_client -connect "$connect" -servername "$host" -verify_hostname "$host" -CAfile "$ca" \
  -verify_return_error </dev/null 2>/dev/null | openssl x509 >"$leaf" ||
  die "the certificate served for $host at $connect does not verify against $ca"
spki="$(openssl x509 -in "$leaf" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"

shot() { # NAME PATH LANG
  timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --lang="$3" \
    --host-resolver-rules="MAP $host:443 $connect" --ignore-certificate-errors-spki-list="$spki" \
    --window-size=1100,800 --screenshot="$out/$1" "https://$host$2" >/dev/null 2>&1 ||
    die "chromium could not take $1"
  log "saved $out/$1 (https://$host$2)"
}
shot demo-booking-page.png "/?lang=de" de-DE
shot demo-booking-times.png "/book/1/times?staff=any&lang=de" de-DE
