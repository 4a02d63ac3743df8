#!/usr/bin/env bash
# hack/cluster/deps.sh - install the Debian packages the local cluster needs,
# only those that are missing (idempotent; needs root and apt).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# containerd + runc run the pods; containernetworking-plugins gives bridge,
# host-local, portmap and loopback; iptables/conntrack for kube-proxy;
# ipset for kube-router's firewall; socat/ethtool/kmod are probed by kubelet
# and kube-proxy; openssl makes the certificates; curl checks etcd; nfacct
# lets cluster-down remove the packet counters kube-proxy creates.
packages=(containerd runc containernetworking-plugins iptables conntrack ipset
  socat ethtool kmod iproute2 openssl util-linux curl nfacct)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "Debian packages: all present"
  exit 0
fi
[[ $(id -u) == 0 ]] || die "need root to install: ${missing[*]}"
log "installing Debian packages: ${missing[*]}"
# A fresh machine has no package lists yet; update once, then install.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
