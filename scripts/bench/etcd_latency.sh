#!/usr/bin/env bash
# Event-to-kernel latency with S services x E endpoints in etcd:
#   scripts/bench/etcd_latency.sh [S] [E] [CHANGES]
# (CHANGES=0: load and report vipd's RSS only; S=0 then gives the empty baseline)
# Everything runs in a namespace made here (etcd on its loopback, vipd,
# an nft monitor), removed on exit.
set -euo pipefail
S=${1:-10000} E=${2:-10} N=${3:-200}
root=$(cd "$(dirname "$0")/../.." && pwd)
vipd=${VIPD:-$root/vipd}
ns=vipd-lat-$$
tmp=$(mktemp -d /tmp/vipd-lat.XXXXXX)
pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	# anything else still in our namespace was started by this script
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" etcd --name m1 --data-dir "$tmp/etcd" --quota-backend-bytes 4294967296 \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 >"$tmp/etcd.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do
	ip netns exec "$ns" curl -s -m 1 http://127.0.0.1:2379/health | grep -q true && break
	sleep 0.1
done
t0=$(date +%s.%N)
timeout 600 ip netns exec "$ns" python3 "$root/scripts/bench/etcd_load.py" http://127.0.0.1:2379 "$S" "$E"
t1=$(date +%s.%N)
echo "loaded $S services x $E endpoints into etcd in $(echo "$t1 - $t0" | bc) s"
ip netns exec "$ns" "$vipd" --etcd-endpoints http://127.0.0.1:2379 2>"$tmp/vipd.log" &
pids+=($!)
for ((i = 0; i < 600; i++)); do
	grep -q 'etcd: watching' "$tmp/vipd.log" && grep -q 'reconciled all' "$tmp/vipd.log" && break
	sleep 0.1
done
if ! grep -q 'reconciled all' "$tmp/vipd.log"; then
	echo "etcd_latency.sh: vipd did not sync within 60 s:" >&2
	tail -n 5 "$tmp/vipd.log" >&2
	exit 1
fi
grep -E 'loaded|reconciled all' "$tmp/vipd.log"
sleep 1
echo "vipd RSS: $(awk '/VmRSS/ { print $2 " kB" }' /proc/"${pids[1]}"/status)"
mkdir -p "$root/build"
if [ ! -x "$root/build/nftwatch" ] || [ "$root/scripts/bench/nftwatch.c" -nt "$root/build/nftwatch" ]; then
	cc -O2 -o "$root/build/nftwatch" "$root/scripts/bench/nftwatch.c" $(pkg-config --cflags --libs libnftnl libmnl)
fi
# CHANGES=0: only the load and vipd's RSS (S=0: an empty registry, the baseline)
[ "$N" -gt 0 ] || exit 0
timeout 600 ip netns exec "$ns" python3 "$root/scripts/bench/etcd_latency.py" http://127.0.0.1:2379 "$S" "$N" "$root/build/nftwatch"
