#!/usr/bin/env bash
# Event-to-kernel latency with S services x E endpoints in etcd:
#   scripts/bench/etcd_latency.sh [S] [E] [CHANGES]
# (CHANGES=0: load and report vipd's RSS only; S=0 then gives the empty baseline)
# Everything runs in a node namespace made here by tests/e2e/lib.sh
# (vlat-node-$$: one etcd member on its loopback from lib_etcd.sh, vipd,
# build/nftwatch), removed on exit, failure or Ctrl-C.
set -euo pipefail
S=${1:-10000} E=${2:-10} N=${3:-200}
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib_etcd.sh
source "$root_dir/tests/e2e/lib_etcd.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"

topo_use vlat
node_up
etcd_args=(--quota-backend-bytes 4294967296)
etcd_up m1=127.0.0.1
t0=$(date +%s.%N)
timeout 600 ip netns exec "$node" python3 "$bench_dir/etcd_load.py" "$etcd_endpoints" "$S" "$E"
t1=$(date +%s.%N)
echo "loaded $S services x $E endpoints into etcd in $(echo "$t1 - $t0" | bc) s"
start_vipd_etcd
wait_logged 60 "$vipd_log" 'etcd: watching' "$vipd_pid" && wait_logged 60 "$vipd_log" 'reconciled all' "$vipd_pid" || {
	tail -n 5 "$vipd_log" >&2
	fail "vipd did not sync within 60 s"
}
grep -E 'loaded|reconciled all' "$vipd_log"
sleep 1
echo "vipd RSS: $(awk '/VmRSS/ { print $2 " kB" }' "/proc/$vipd_pid/status")"
bench_tool nftwatch libnftnl libmnl
# CHANGES=0: only the load and vipd's RSS (S=0: an empty registry, the baseline)
[ "$N" -gt 0 ] || exit 0
timeout 600 ip netns exec "$node" python3 "$bench_dir/etcd_latency.py" "$etcd_endpoints" "$S" "$N" "$tool"
