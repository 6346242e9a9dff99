#!/usr/bin/env bash
# Install every Debian package that building, testing, the demo and the
# benchmarks need. Idempotent: a second run installs nothing.
set -euo pipefail

pkgs=(
	build-essential pkg-config
	libnftnl-dev libmnl-dev libcurl4-openssl-dev libjansson-dev libcmocka-dev
	libnetfilter-conntrack-dev libmicrohttpd-dev
	nftables iptables iproute2 conntrack
	curl socat busybox-static python3 procps psmisc
	valgrind wrk clang libclang-rt-14-dev
	etcd-server etcd-client
	docker.io tini
	time bc linux-perf
	groff lintian dpkg-dev fakeroot man-db systemd
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages like etcd-server and docker.io start their daemon on install; on a test
# machine nothing may run in the root namespace, so forbid service starts
# while installing (policy-rc.d), unless the machine already has a policy.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
